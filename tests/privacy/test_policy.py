"""The privacy policy on its own: settings, errors that name the setting, the row map and the column hints."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from sources.brightspace import brightspace_source
from sources.canvas import canvas_source
from sources.privacy import PrivacyConfigError, RowPrivacy, privacy_rules, protect
from sources.sis_roster import sis_roster_source
from tests.privacy.loads import KEY, OTHER_KEY, expected_hash, policy


def test_pseudonymise_without_a_key_names_the_setting() -> None:
    with pytest.raises(PrivacyConfigError) as caught:
        privacy_rules(policy("pseudonymise", key=None), "brightspace")
    message = str(caught.value)
    assert "[sources.brightspace.privacy] names = 'pseudonymise'" in message
    assert "[sources.privacy] hash_key" in message and "SOURCES__PRIVACY__HASH_KEY" in message
    # only the categories that hash need the key
    rules = privacy_rules(policy("drop", key=None, sis_ids="keep"), "brightspace")
    assert set(rules.actions.values()) == {"drop", "keep"}


def test_bad_settings_are_refused_with_what_to_do() -> None:
    with pytest.raises(
        PrivacyConfigError, match=r"\[sources.canvas.privacy\] sis_ids = 'drop' is not allowed"
    ):
        privacy_rules(policy("drop"), "canvas")
    with pytest.raises(
        PrivacyConfigError, match=r"\[sources.canvas.privacy\] emails = 'hide' is not a privacy"
    ):
        privacy_rules({"emails": "hide"}, "canvas")
    with pytest.raises(PrivacyConfigError, match=r"unknown privacy categories \['phones'\]"):
        privacy_rules({"phones": "drop"}, "canvas")
    with pytest.raises(PrivacyConfigError, match="shorter than 16 characters") as caught:
        privacy_rules(policy("pseudonymise", key="short-secret"), "canvas")
    assert "short-secret" not in str(caught.value)
    # the American spelling is accepted; the key never shows in the rules' repr
    rules = privacy_rules({"names": "Pseudonymize", "hash_key": KEY}, "canvas")
    assert rules.actions["names"] == "pseudonymise" and KEY not in repr(rules)


def test_row_map_matches_fields_in_any_spelling_and_hashes_with_the_key() -> None:
    rules = privacy_rules(policy("pseudonymise", sis_ids="pseudonymise"), "brightspace")
    fields = {"display_name": "names", "external_email": "emails", "org_defined_id": "sis_ids"}
    row = {
        "UserId": 7,
        "DisplayName": "Ada Byron",
        "ExternalEmail": "Ada@X.edu",
        "OrgDefinedId": "S1",
        "Pronouns": None,
    }
    out = RowPrivacy(fields, rules)(row)
    assert out == {
        "UserId": 7,
        "DisplayName": expected_hash(KEY, "names", "Ada Byron"),
        "ExternalEmail": expected_hash(KEY, "emails", "ada@x.edu"),
        "OrgDefinedId": expected_hash(KEY, "sis_ids", "S1"),
        "Pronouns": None,
    }
    assert row["DisplayName"] == "Ada Byron"  # the LMS's row is not changed in place
    # the same e-mail in another case and another source's column hashes the same
    canvas = RowPrivacy({"email": "emails"}, privacy_rules(policy("pseudonymise"), "canvas"))
    assert canvas({"email": " ada@x.EDU "})["email"] == out["ExternalEmail"]
    other = privacy_rules(policy("pseudonymise", key=OTHER_KEY), "canvas")
    assert RowPrivacy({"email": "emails"}, other)({"email": "ada@x.edu"})["email"] != out["ExternalEmail"]
    dropped = RowPrivacy(fields, privacy_rules(policy("drop", sis_ids="keep"), "brightspace"))(row)
    assert dropped == {"UserId": 7, "OrgDefinedId": "S1", "Pronouns": None}


def test_dropped_fields_leave_the_column_hints_and_the_primary_key() -> None:
    @dlt.resource(
        name="provisioning_users",
        primary_key=("canvas_user_id", "login_id"),
        columns={
            "canvas_user_id": {"data_type": "bigint", "nullable": False},
            "login_id": {"data_type": "text", "nullable": False},
            "email": {"data_type": "text"},
            "status": {"data_type": "text"},
        },
    )
    def users() -> list[dict[str, object]]:
        return [{"canvas_user_id": 1, "login_id": "ada", "email": "a@x", "status": "active"}]

    rules = privacy_rules(policy("drop", sis_ids="keep"), "canvas")
    resource = protect(users(), {"login_id": "login_ids", "email": "emails"}, rules)
    table = resource.compute_table_schema()
    assert list(table["columns"]) == ["canvas_user_id", "status"]
    assert table["columns"]["canvas_user_id"].get("primary_key") is True
    assert list(resource) == [{"canvas_user_id": 1, "status": "active"}]


def test_sources_read_the_policy_from_config(monkeypatch: pytest.MonkeyPatch, dlt_dir: Path) -> None:
    monkeypatch.setenv("SOURCES__CANVAS__PRIVACY__NAMES", "drop")
    monkeypatch.setenv("SOURCES__CANVAS__PRIVACY__LOGIN_IDS", "pseudonymise")
    monkeypatch.setenv("SOURCES__PRIVACY__HASH_KEY", KEY)
    source = canvas_source()
    columns = source.resources["users"].compute_table_schema()["columns"]
    assert "name" not in columns and "sortable_name" not in columns
    assert columns["login_id"]["data_type"] == "text" and "sis_user_id" in columns

    # the Brightspace section is its own: nothing set there, nothing changes
    bs = brightspace_source()
    assert "display_name" in bs.resources["users"].compute_table_schema()["columns"]

    monkeypatch.delenv("SOURCES__PRIVACY__HASH_KEY")
    with pytest.raises(Exception, match=r"\[sources.canvas.privacy\] login_ids = 'pseudonymise' needs"):
        canvas_source()

    roster = dlt_dir / "roster.csv"
    roster.write_text("course_id,user_id,role,status,email\nC1,S1,student,active,a@x.edu\n")
    monkeypatch.setenv("SOURCES__SIS_ROSTER__PRIVACY__EMAILS", "drop")
    rows = list(sis_roster_source(str(roster)))
    assert [(r["user_id"], "email" in r) for r in rows] == [("S1", False)]
