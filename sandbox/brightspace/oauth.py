"""OAuth 2.0 token service: refresh-token grant with single-use, rotating refresh tokens.

Behaviour (docs/brightspace-api.md §1.1): `POST /core/connect/token` with `grant_type=refresh_token` and
`refresh_token`, the client authenticated by HTTP Basic or by `client_id`/`client_secret` form
fields. A refresh token works once: the reply carries a new one and the used one is rejected from
then on with 400 `invalid_grant`. Access tokens are Bearer tokens valid for `access_token_ttl`
seconds. Choices where the reference is silent (UNCONFIRMED): unused refresh tokens never expire;
reusing a spent refresh token does not revoke the chain it belongs to; `expires_in` is the TTL
rounded up to whole seconds.

Persist-before-use check (for tests): a client must store each new refresh token before it uses
the access token that came with it, or a crash in between loses the only valid refresh token (§1.1,
"store the rotated token atomically before any API work"). Given `watch_store`, a callable reading
the client's token store, the service checks on the first API request with each new access token
that the store already holds the refresh token issued with it; if not, it records a violation in
`persist_violations` and answers 400 `refresh_token_not_persisted`.
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEFAULT_SCOPE = "core:*:* datahub:*:* enrollment:*:* grades:*:* orgunits:*:* users:*:* reporting:*:*"


@dataclass(frozen=True, slots=True)
class TokenReply:
    """What the token endpoint answers: an HTTP status and a JSON body."""

    status: int
    body: dict[str, object]


class TokenService:
    """Issues and checks tokens for one registered app; thread-safe."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        initial_refresh_token: str,
        access_token_ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Register the app and its first refresh token.

        Args:
            client_id: the app's client id.
            client_secret: the app's client secret.
            initial_refresh_token: the one valid refresh token at start.
            access_token_ttl: seconds an access token lives.
            clock: monotonic seconds (tests pass a fake).
        """
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_token_ttl = access_token_ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._refresh: set[str] = {initial_refresh_token}
        self._spent: set[str] = set()
        self._access: dict[str, float] = {}
        self.refreshes_rejected = 0
        # access token -> (the refresh token issued with it, its number), until its first use
        self._unused: dict[str, tuple[str, int]] = {}
        self.watch_store: Callable[[], str | None] | None = None
        self.persist_violations: list[str] = []
        self._issued = 0

    def issue_refresh_token(self) -> str:
        """Mint another valid refresh token (the start of a new grant chain)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._refresh.add(token)
        return token

    def revoke_access_tokens(self) -> None:
        """Make every current access token invalid."""
        with self._lock:
            self._access.clear()
            self._unused.clear()

    def check_access(self, authorization: str | None) -> bool:
        """Whether an `Authorization` header carries a live Bearer access token."""
        return self.refusal(authorization) is None

    def refusal(self, authorization: str | None) -> str | None:
        """Why an API request's `Authorization` header is refused (an OAuth error code), or None.

        `invalid_token`: no live Bearer access token. `refresh_token_not_persisted`: the first use
        of an access token whose refresh token the watched store does not hold yet.
        """
        if not authorization or not authorization.startswith("Bearer "):
            return "invalid_token"
        token = authorization[len("Bearer ") :].strip()
        with self._lock:
            expires = self._access.get(token)
            if expires is None:
                return "invalid_token"
            if self._clock() >= expires:
                del self._access[token]
                return "invalid_token"
            first_use = self._unused.pop(token, None)
            watch = self.watch_store
        if first_use is not None and watch is not None and watch() != first_use[0]:
            # never the tokens themselves: the violation text may reach test output
            with self._lock:
                self.persist_violations.append(
                    f"access token #{first_use[1]} was used before its refresh token was stored"
                )
            return "refresh_token_not_persisted"
        return None

    def token_request(self, form: Mapping[str, str], authorization: str | None) -> TokenReply:
        """Answer a token endpoint POST.

        Args:
            form: the decoded form fields.
            authorization: the request's Authorization header (HTTP Basic client auth), if any.
        """
        client_id, client_secret = _client_credentials(form, authorization)
        if client_id != self.client_id or client_secret != self.client_secret:
            return TokenReply(401, {"error": "invalid_client"})
        grant_type = form.get("grant_type")
        if grant_type != "refresh_token":
            return TokenReply(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": "this sandbox supports grant_type=refresh_token only",
                },
            )
        presented = form.get("refresh_token", "")
        with self._lock:
            if presented not in self._refresh:
                self.refreshes_rejected += 1
                reason = "refresh token already used" if presented in self._spent else "unknown refresh token"
                return TokenReply(400, {"error": "invalid_grant", "error_description": reason})
            self._refresh.discard(presented)
            self._spent.add(presented)
            new_refresh = secrets.token_urlsafe(32)
            self._refresh.add(new_refresh)
            access = _access_token()
            # a token lives exactly the whole seconds `expires_in` reports, never less
            self._access[access] = self._clock() + max(1, math.ceil(self.access_token_ttl))
            self._issued += 1
            self._unused[access] = (new_refresh, self._issued)
        return TokenReply(
            200,
            {
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": max(1, math.ceil(self.access_token_ttl)),
                "refresh_token": new_refresh,
                "scope": form.get("scope") or DEFAULT_SCOPE,
            },
        )


def derived_secret(seed_key: str, purpose: str, length: int = 32) -> str:
    """A deterministic secret-looking string for a sandbox (stable across restarts of one seed)."""
    digest = hashlib.sha256(f"{seed_key}:{purpose}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:length]


def _client_credentials(form: Mapping[str, str], authorization: str | None) -> tuple[str | None, str | None]:
    if authorization and authorization.startswith("Basic "):
        try:
            decoded = base64.b64decode(authorization[len("Basic ") :].strip()).decode()
        except (ValueError, UnicodeDecodeError):
            return None, None
        client_id, _, client_secret = decoded.partition(":")
        return client_id, client_secret
    return form.get("client_id"), form.get("client_secret")


def _access_token() -> str:
    # Brightspace access tokens look like JWTs (eyJ...); these are opaque but shaped alike.
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').decode().rstrip("=")
    return f"{header}.{secrets.token_urlsafe(48)}.{secrets.token_urlsafe(32)}"
