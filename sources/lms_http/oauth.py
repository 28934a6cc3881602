"""OAuth2 refresh-token auth with rotating refresh tokens, persisted atomically before use."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import requests
from requests import PreparedRequest
from requests.auth import AuthBase, HTTPBasicAuth

from .errors import LmsApiError, LmsAuthError

logger = logging.getLogger(__name__)

# refresh this long before `expires_in` runs out (capped at a quarter of the lifetime, so very
# short-lived tokens are still used for most of their life)
DEFAULT_SKEW_SECONDS = 60.0
# a token obtained after a 401 and rejected again within this share of its lifetime is not
# refreshed again (the 401 is not about expiry); later rejections refresh once more, so a server
# whose tokens live shorter than `expires_in` says is still served, at most a few times per lifetime
REACTIVE_GUARD = 0.25
# token-endpoint attempts on connection errors, 5xx and 429 (never on 400/401: those are final)
TOKEN_ATTEMPTS = 3


class TokenStore(Protocol):
    """Where the current refresh token lives between runs (a file, a vault, a test double)."""

    def load(self) -> str | None: ...

    def save(self, refresh_token: str) -> None: ...

    def describe(self) -> str: ...


class FileTokenStore:
    """A refresh token in a file of its own, mode 0600, replaced atomically.

    `save` writes a temp file in the same directory, fsyncs it, renames it over the old file with
    `os.replace` and fsyncs the directory: a crash at any point leaves either the old or the new
    token on disk, never a torn or empty file.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def load(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return text or None

    def save(self, refresh_token: str) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            os.fchmod(fd, 0o600)  # mkstemp already creates 0600; be explicit
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(refresh_token)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        try:
            dir_fd = os.open(directory, os.O_RDONLY)
        except OSError:
            return  # platforms without directory fds: the rename is still atomic
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold an exclusive lock shared by every process using this file, for one refresh.

        Refresh tokens are single-use: two shard runs refreshing at once from the same file would
        spend the same token, and the slower one would be refused. Under this lock each refresh
        reads the newest token first and writes its successor before letting the next one in.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def describe(self) -> str:
        return f"the refresh token file {self.path}"

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


class MemoryTokenStore:
    """Keeps the refresh token in memory only (tests; a vault adapter would look the same)."""

    def __init__(self, refresh_token: str | None = None) -> None:
        self._token = refresh_token
        self.saves = 0

    def load(self) -> str | None:
        return self._token

    def save(self, refresh_token: str) -> None:
        self._token = refresh_token
        self.saves += 1

    def describe(self) -> str:
        return "the in-memory token store"

    def __repr__(self) -> str:
        return f"MemoryTokenStore(saves={self.saves})"


class OAuthRefreshError(LmsAuthError):
    """The token endpoint refused the refresh token (invalid_grant, revoked, wrong client)."""


class RefreshTokenAuth(AuthBase):
    """Bearer auth from an OAuth2 refresh-token grant whose refresh tokens rotate (single use).

    - Proactive: a token within `skew_seconds` of its `expires_in` is refreshed before use.
    - Reactive: `on_unauthorized(request)` (for `GovernedClient`) refreshes once after a 401 and
      re-signs the request; a token that a reactive refresh just produced and the server rejects
      at once is not refreshed again (refreshing cannot fix it), so the 401 becomes a clear error.
    - One refresh at a time: a lock makes parallel workers share the refresh one of them did.
    - Each new refresh token is saved to `store` before the new access token is used, so a crash
      at any later point leaves the only valid refresh token on disk.
    - On start the stored refresh token wins over the configured one (the configured one has
      usually been used up by an earlier run); if the server rejects the stored token and the
      configured one differs, the configured one is tried once (the user re-consented).

    Tokens are never logged, put in exceptions or shown by `repr`.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str | None,
        store: TokenStore,
        *,
        lms: str = "Brightspace",
        credential_hint: str = "the refresh_token setting",
        client_hint: str = "the client_id and client_secret settings",
        skew_seconds: float = DEFAULT_SKEW_SECONDS,
        client_auth: str = "body",
        scope: str | None = None,
        request_timeout: float = 30.0,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_refresh: Callable[[], None] | None = None,
    ) -> None:
        if client_auth not in ("body", "basic"):
            raise ValueError("client_auth must be 'body' or 'basic'")
        self.token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._configured_refresh = refresh_token or None
        self.store = store
        self.lms = lms
        self.credential_hint = credential_hint
        self.client_hint = client_hint
        self.skew_seconds = skew_seconds
        self.client_auth = client_auth
        self.scope = scope
        self.request_timeout = request_timeout
        # a plain session: the token request must not go through the API's governor or retries
        self._session = session or requests.Session()
        self._clock = clock
        self._sleep = sleep
        self._on_refresh = on_refresh
        self._lock = threading.RLock()
        self._refresh_token: str | None = None
        self._from_store = False
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._issued_at = 0.0
        self._lifetime = 0.0
        self._reactive = False  # the current access token was obtained after a 401
        self.refreshes = 0
        self.reactive_refreshes = 0

    def __repr__(self) -> str:
        return f"RefreshTokenAuth(token_url={self.token_url!r}, store={self.store!r}, refreshes={self.refreshes})"

    __str__ = __repr__

    # -- requests auth hook ----------------------------------------------------------------------

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request

    def access_token(self) -> str:
        """A valid access token, refreshed first if it is missing or about to expire."""
        token = self._access_token
        if token is not None and self._clock() < self._expires_at:
            return token
        with self._lock:
            if self._access_token is None or self._clock() >= self._expires_at:
                self._refresh()
            assert self._access_token is not None
            return self._access_token

    def on_unauthorized(self, request: PreparedRequest) -> bool:
        """Heal one 401: refresh (unless another worker already did) and re-sign `request`.

        Returns:
            True to resend the request once; False when a refresh cannot help.

        Raises:
            OAuthRefreshError: the token endpoint refused the refresh token.
        """
        rejected = _bearer_of(request)
        with self._lock:
            now = self._clock()
            current = self._access_token
            if (
                rejected is not None
                and rejected != current
                and current is not None
                and now < self._expires_at
            ):
                pass  # another worker refreshed since this request was signed: just re-sign it
            elif (
                rejected == current
                and self._reactive
                and now - self._issued_at < self._lifetime * REACTIVE_GUARD
            ):
                # a token a 401 just made is rejected at once: refreshing again cannot fix that
                logger.warning("%s rejected a freshly refreshed access token; not refreshing again", self.lms)
                return False
            else:
                logger.info("%s answered 401; refreshing the access token once", self.lms)
                self._refresh()
                self._reactive = rejected == current
                self.reactive_refreshes += 1
            request.headers["Authorization"] = f"Bearer {self._access_token}"
            return True

    def invalidate(self) -> None:
        """Forget the access token, so the next request refreshes first."""
        with self._lock:
            self._expires_at = 0.0

    # -- the refresh itself ------------------------------------------------------------------------

    def _current_refresh_token(self) -> str:
        if self._refresh_token is None:
            stored = self.store.load()
            if stored:
                self._refresh_token, self._from_store = stored, True
            elif self._configured_refresh:
                self._refresh_token, self._from_store = self._configured_refresh, False
            else:
                raise OAuthRefreshError(
                    f"No {self.lms} refresh token: set {self.credential_hint} "
                    f"(it is kept in {self.store.describe()} after the first run)."
                )
        return self._refresh_token

    def _refresh(self) -> None:
        """Trade the refresh token for new tokens, under the store's cross-process lock if it has one."""
        locked = getattr(self.store, "locked", None)
        with locked() if locked is not None else contextlib.nullcontext():
            self._adopt_newer_stored_token()
            self._refresh_now()

    def _adopt_newer_stored_token(self) -> None:
        """Take the stored refresh token if another process rotated ours since we read it."""
        if self._refresh_token is None:
            return  # not read yet: _current_refresh_token decides between stored and configured
        stored = self.store.load()
        if stored and stored != self._refresh_token:
            logger.info("another run rotated the %s refresh token; using the newer one", self.lms)
            self._refresh_token, self._from_store = stored, True

    def _refresh_now(self) -> None:
        """Trade the refresh token for new tokens; persist the new refresh token before use."""
        refresh_token = self._current_refresh_token()
        try:
            payload = self._token_request(refresh_token)
        except OAuthRefreshError:
            fallback = self._configured_refresh
            if not (self._from_store and fallback and fallback != refresh_token):
                raise
            # the stored token is dead but the configuration holds a different one: the user put
            # a freshly consented token there; try it once
            logger.warning("the stored %s refresh token was rejected; trying the configured one", self.lms)
            self._refresh_token, self._from_store = fallback, False
            refresh_token = fallback
            payload = self._token_request(refresh_token)
        access = payload.get("access_token")
        if not isinstance(access, str) or not access:
            raise LmsApiError(f"{self.lms} token endpoint {self.token_url} replied without an access_token.")
        new_refresh = payload.get("refresh_token")
        if isinstance(new_refresh, str) and new_refresh and new_refresh != refresh_token:
            # the old refresh token is spent now: the new one must reach disk before anything else
            self.store.save(new_refresh)
            self._refresh_token, self._from_store = new_refresh, True
            if self._on_refresh is not None:
                self._on_refresh()
        # else: no rotation in this reply; keep the refresh token we have (brightspaceR does too)
        try:
            lifetime = float(payload.get("expires_in", 3600))
        except (TypeError, ValueError):
            lifetime = 3600.0
        skew = min(self.skew_seconds, lifetime / 4)
        self._access_token = access
        self._issued_at = self._clock()
        self._lifetime = lifetime
        self._expires_at = self._issued_at + max(lifetime - skew, 0.0)
        self._reactive = False
        self.refreshes += 1

    def _token_request(self, refresh_token: str) -> dict[str, Any]:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if self.scope:
            data["scope"] = self.scope
        auth = None
        if self.client_auth == "basic":
            auth = HTTPBasicAuth(self._client_id, self._client_secret)
        else:
            data["client_id"] = self._client_id
            data["client_secret"] = self._client_secret
        last_problem = ""
        for attempt in range(1, TOKEN_ATTEMPTS + 1):
            try:
                response = self._session.post(
                    self.token_url,
                    data=data,
                    auth=auth,
                    headers={"Accept": "application/json"},
                    timeout=self.request_timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_problem = type(exc).__name__
            else:
                status = response.status_code
                if status == 200:
                    try:
                        payload = response.json()
                    except ValueError:
                        payload = None
                    if not isinstance(payload, dict):
                        raise LmsApiError(f"{self.lms} token endpoint {self.token_url} did not return JSON.")
                    return payload
                if status in (400, 401, 403):
                    raise self._rejected(response)
                last_problem = f"HTTP {status}"
                if status != 429 and status < 500:
                    break
            if attempt < TOKEN_ATTEMPTS:
                self._sleep(min(2.0 ** (attempt - 1), 10.0))
        raise LmsApiError(
            f"{self.lms} token endpoint {self.token_url} failed ({last_problem}) after "
            f"{TOKEN_ATTEMPTS} attempts; try again later."
        )

    def _rejected(self, response: requests.Response) -> OAuthRefreshError:
        code = ""
        try:
            body = response.json()
            if isinstance(body, dict) and isinstance(body.get("error"), str):
                code = body["error"][:64]  # the error code only: descriptions may echo input
        except ValueError:
            pass
        what = f"HTTP {response.status_code}" + (f", {code}" if code else "")
        if code == "invalid_client" or response.status_code == 401 and code != "invalid_grant":
            fix = f"check {self.client_hint}"
        else:
            fix = (
                f"get a new refresh token (one browser consent), put it in {self.credential_hint} "
                f"and delete {self.store.describe()}"
            )
        return OAuthRefreshError(
            f"{self.lms} refused the OAuth2 refresh ({what}) at {self.token_url}: {fix}. "
            "Refresh tokens are single-use; nothing was retried.",
            response.status_code,
            self.token_url,
        )


def _bearer_of(request: PreparedRequest) -> str | None:
    value = request.headers.get("Authorization")
    if not value or not value.startswith("Bearer "):
        return None
    return value[len("Bearer ") :]


__all__ = [
    "FileTokenStore",
    "MemoryTokenStore",
    "OAuthRefreshError",
    "RefreshTokenAuth",
    "TokenStore",
]
