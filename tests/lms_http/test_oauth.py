"""OAuth2 refresh-token auth against a tiny fake token endpoint on loopback (no real sleeping)."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.wrappers import Request, Response

from sandbox.serving import ServerThread
from sources.lms_http.client import GovernedClient
from sources.lms_http.oauth import FileTokenStore, MemoryTokenStore, OAuthRefreshError, RefreshTokenAuth
from sources.lms_http.window_governor import CreditWindowGovernor


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TokenServer:
    """A token endpoint with single-use rotating refresh tokens, plus one protected API route."""

    def __init__(self, first_refresh: str = "r-0", expires_in: float = 3600) -> None:
        self.valid_refresh = {first_refresh}
        self.valid_access: set[str] = set()
        self.expires_in = expires_in
        self.token_requests = 0
        self.api_requests = 0
        self.issued = 0
        self.fail_with: int | None = None  # answer the next token request with this status
        self.seen_forms: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self.server = ServerThread(self.app)

    def app(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/token":
            response = self.token(request)
        else:
            response = self.api(request)
        return response(environ, start_response)

    def token(self, request: Request) -> Response:
        with self._lock:
            self.token_requests += 1
            form = dict(request.form)
            self.seen_forms.append(form)
            if self.fail_with is not None:
                status, self.fail_with = self.fail_with, None
                return Response("oops", status=status)
            if form.get("client_id") != "cid" or form.get("client_secret") != "csecret":
                return Response(
                    json.dumps({"error": "invalid_client"}), status=401, mimetype="application/json"
                )
            refresh = form.get("refresh_token")
            if form.get("grant_type") != "refresh_token" or refresh not in self.valid_refresh:
                return Response(
                    json.dumps({"error": "invalid_grant"}), status=400, mimetype="application/json"
                )
            self.valid_refresh.discard(refresh)  # single use
            self.issued += 1
            access, new_refresh = f"a-{self.issued}", f"r-{self.issued}"
            self.valid_access.add(access)
            self.valid_refresh.add(new_refresh)
            body = {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": self.expires_in,
                "refresh_token": new_refresh,
            }
            return Response(json.dumps(body), mimetype="application/json")

    def api(self, request: Request) -> Response:
        with self._lock:
            self.api_requests += 1
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.valid_access:
                return Response("unauthorized", status=401, headers={"WWW-Authenticate": "Bearer"})
            return Response(json.dumps({"ok": True}), mimetype="application/json")

    def revoke_access(self) -> None:
        with self._lock:
            self.valid_access.clear()


@pytest.fixture
def server() -> Iterator[TokenServer]:
    srv = TokenServer()
    srv.server.start()
    yield srv
    srv.server.stop()


def make_auth(server: TokenServer, store: Any, **kwargs: Any) -> RefreshTokenAuth:
    kwargs.setdefault("refresh_token", "r-0")
    return RefreshTokenAuth(
        f"{server.server.base_url}/token",
        "cid",
        "csecret",
        store=store,
        credential_hint="[sources.brightspace] refresh_token",
        sleep=lambda s: None,
        **kwargs,
    )


def test_file_store_is_atomic_and_private(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "sub" / "bs.token")
    assert store.load() is None
    store.save("r-1")
    store.save("r-2")
    assert store.load() == "r-2"
    mode = stat.S_IMODE(os.stat(store.path).st_mode)
    assert mode == 0o600
    assert [p.name for p in store.path.parent.iterdir()] == ["bs.token"]  # no temp files left
    assert "r-2" not in repr(store)


def test_refresh_rotates_and_persists_before_use(server: TokenServer, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "bs.token")
    seen_on_disk: list[str | None] = []
    auth = make_auth(server, store, on_refresh=lambda: seen_on_disk.append(store.load()))
    response = requests.get(f"{server.server.base_url}/api", auth=auth)
    assert response.status_code == 200
    # the new refresh token reached disk before the access token was handed out
    assert seen_on_disk == ["r-1"]
    assert store.load() == "r-1"
    assert server.token_requests == 1
    form = server.seen_forms[0]
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "r-0"


def test_stored_token_wins_over_configured(server: TokenServer, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "bs.token")
    make_auth(server, store).access_token()  # r-0 -> r-1 on disk
    auth = make_auth(server, store)  # configured r-0 is spent; the file holds r-1
    assert auth.access_token() == "a-2"
    assert store.load() == "r-2"
    assert server.token_requests == 2


def test_configured_token_used_when_stored_one_is_dead(server: TokenServer, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "bs.token")
    store.save("r-stale")
    auth = make_auth(server, store)  # the user re-consented and configured r-0
    assert auth.access_token() == "a-1"
    assert store.load() == "r-1"
    assert server.token_requests == 2


def test_proactive_refresh_before_expiry_with_skew(server: TokenServer) -> None:
    server.expires_in = 100
    clock = FakeClock()
    auth = make_auth(server, MemoryTokenStore(), clock=clock, skew_seconds=60)
    assert auth.access_token() == "a-1"
    clock.now += 74  # skew is capped at a quarter of the lifetime: refresh at 75 s
    assert auth.access_token() == "a-1"
    clock.now += 1
    assert auth.access_token() == "a-2"
    assert server.token_requests == 2


def test_parallel_workers_refresh_once(server: TokenServer) -> None:
    store = MemoryTokenStore()
    auth = make_auth(server, store)
    barrier = threading.Barrier(8)
    tokens: list[str] = []

    def worker() -> None:
        barrier.wait()
        tokens.append(auth.access_token())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(tokens) == {"a-1"}
    assert server.token_requests == 1 and store.saves == 1


def test_401_refreshes_once_and_resends(server: TokenServer) -> None:
    auth = make_auth(server, MemoryTokenStore())
    http = GovernedClient(
        CreditWindowGovernor(), lambda r: r.status_code == 429, on_unauthorized=auth.on_unauthorized
    )
    session = http.session
    assert session.get(f"{server.server.base_url}/api", auth=auth).status_code == 200
    server.revoke_access()
    assert session.get(f"{server.server.base_url}/api", auth=auth).status_code == 200
    assert server.token_requests == 2 and auth.reactive_refreshes == 1
    # a request signed with the old token after another worker refreshed is only re-signed
    stale = requests.Request(
        "GET", f"{server.server.base_url}/api", headers={"Authorization": "Bearer a-1"}
    ).prepare()
    assert auth.on_unauthorized(stale)
    assert stale.headers["Authorization"] == "Bearer a-2"
    assert server.token_requests == 2


def test_401_that_refresh_cannot_fix_is_not_refreshed_again(server: TokenServer) -> None:
    auth = make_auth(server, MemoryTokenStore())
    http = GovernedClient(
        CreditWindowGovernor(), lambda r: r.status_code == 429, on_unauthorized=auth.on_unauthorized
    )
    original = server.api

    def always_401(request: Request) -> Response:
        server.api_requests += 1
        return Response("no", status=401)

    server.api = always_401  # type: ignore[method-assign]
    try:
        response = http.session.get(f"{server.server.base_url}/api", auth=auth)
        assert response.status_code == 401
        response = http.session.get(f"{server.server.base_url}/api", auth=auth)
        assert response.status_code == 401
    finally:
        server.api = original  # type: ignore[method-assign]
    # first request: initial token + one reactive refresh; second: no further refresh
    assert server.token_requests == 2
    assert server.api_requests == 3


def test_invalid_grant_is_a_clear_error_without_retries(server: TokenServer, tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "bs.token")
    auth = make_auth(server, store, refresh_token="r-bogus-secret")
    with pytest.raises(OAuthRefreshError) as info:
        auth.access_token()
    message = str(info.value)
    assert "invalid_grant" in message
    assert "[sources.brightspace] refresh_token" in message and str(store.path) in message
    assert "r-bogus-secret" not in message and "csecret" not in message
    assert server.token_requests == 1
    assert store.load() is None


def test_invalid_client_names_client_settings(server: TokenServer) -> None:
    auth = RefreshTokenAuth(
        f"{server.server.base_url}/token", "cid", "wrong", "r-0", MemoryTokenStore(), sleep=lambda s: None
    )
    with pytest.raises(OAuthRefreshError, match="client_id and client_secret"):
        auth.access_token()
    assert server.token_requests == 1


def test_token_endpoint_5xx_is_retried_a_few_times(server: TokenServer) -> None:
    slept: list[float] = []
    auth = make_auth(server, MemoryTokenStore())
    auth._sleep = slept.append
    server.fail_with = 503
    assert auth.access_token() == "a-1"
    assert server.token_requests == 2 and slept == [1.0]


def test_missing_refresh_token_names_the_setting() -> None:
    auth = RefreshTokenAuth("http://127.0.0.1:9/token", "cid", "cs", None, MemoryTokenStore())
    with pytest.raises(OAuthRefreshError, match="refresh_token"):
        auth.access_token()


def test_tokens_never_in_repr(server: TokenServer) -> None:
    auth = make_auth(server, MemoryTokenStore())
    auth.access_token()
    text = repr(auth) + str(auth)
    for secret in ("a-1", "r-1", "r-0", "csecret"):
        assert secret not in text


def test_runs_sharing_a_token_file_take_turns_and_follow_each_others_rotation(
    server: TokenServer, tmp_path: Path
) -> None:
    # two shard runs (separate processes in production) share one token file
    store = FileTokenStore(tmp_path / "bs.token")
    first, second = make_auth(server, store), make_auth(server, store)
    assert first.access_token() == "a-1"  # r-0 -> r-1, first holds r-1 in memory
    assert second.access_token() == "a-2"  # reads r-1 from the file -> r-2
    first.invalidate()  # first's access token runs out: its r-1 is spent, the file holds r-2
    assert first.access_token() == "a-3"
    assert store.load() == "r-3" and server.token_requests == 3
    # the lock is a real file lock: while one run holds it, another cannot take it
    import fcntl

    with store.locked():
        fd = os.open(tmp_path / ".bs.token.lock", os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
