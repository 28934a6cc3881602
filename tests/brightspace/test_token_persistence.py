"""Persist-before-use, checked by the token server: no access token is used before its refresh token is stored.

Brightspace refresh tokens are single use (docs/brightspace-api.md §1.1): the moment the token endpoint
answers, the old refresh token is dead and the new one exists only in that reply. A client that uses
the new access token before the new refresh token is on disk can be killed in between and lose the
grant for good. The sandbox's token service watches the client's token store and refuses, with
`refresh_token_not_persisted`, the first request of an access token whose refresh token is not there.
"""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from sandbox.brightspace import BrightspaceSandbox
from sandbox.faults import FaultPlan, Scheduled
from sources.lms_http.oauth import FileTokenStore, MemoryTokenStore
from tests.brightspace.test_brightspace_source import CORE, assert_matches_truth, load, make_api


class ForgetfulStore(MemoryTokenStore):
    """A store that drops what it is given: the client then uses tokens it never persisted."""

    def save(self, refresh_token: str) -> None:
        self.saves += 1


def test_each_new_access_token_is_used_only_after_its_refresh_token_is_stored(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline, dlt_dir: Path
) -> None:
    token_file = dlt_dir / "bs.token"
    tokens = sandbox.app.tokens
    tokens.watch_store = FileTokenStore(token_file).load
    api = make_api(sandbox, token_file=token_file)
    # the access tokens are revoked mid-run: a reactive refresh, whose first use is checked too
    sandbox.faults = FaultPlan(schedule=[Scheduled("revoke", at=15)])
    load(pipeline, api, resources=CORE)
    assert_matches_truth(pipeline, sandbox, CORE)
    assert tokens.persist_violations == []
    # two refreshes (the first token, the heal): two first uses checked against the file
    assert api.auth.refreshes == 2 and api.auth.reactive_refreshes == 1
    assert sandbox.stats["token_requests"] == 2


def test_an_access_token_used_before_its_refresh_token_is_stored_is_refused(
    sandbox: BrightspaceSandbox, pipeline: dlt.Pipeline
) -> None:
    # the check itself can fail: a store that never holds the new refresh token trips it at once
    tokens = sandbox.app.tokens
    store = ForgetfulStore()
    tokens.watch_store = store.load
    api = make_api(sandbox, store=store)
    with pytest.raises(Exception) as failure:
        load(pipeline, api, resources=["courses"])
    assert "HTTP 400" in str(failure.value)
    assert tokens.persist_violations == ["access token #1 was used before its refresh token was stored"]
    assert store.saves == 1
