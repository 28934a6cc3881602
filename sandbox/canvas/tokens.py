"""Access tokens the sandbox accepts: deterministic strings, optional expiry, revocation."""

from __future__ import annotations

import random
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

_ALNUM = string.ascii_letters + string.digits


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """Who a token belongs to and until when it is valid (monotonic clock; None = forever)."""

    user_id: int
    admin: bool
    expires_at: float | None


def make_token(seed: int, n: int) -> str:
    """The n-th token for a seed, shaped like a Canvas token (`7~` + 64 alphanumerics)."""
    rng = random.Random(f"canvas-sandbox-token:{seed}:{n}")
    return "7~" + "".join(rng.choices(_ALNUM, k=64))


class TokenStore:
    """Thread-safe registry of issued tokens."""

    def __init__(self, seed: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._seed = seed
        self._clock = clock
        self._issued = 0
        self._tokens: dict[str, TokenInfo] = {}
        self._lock = threading.Lock()

    def issue(self, user_id: int, admin: bool, ttl_seconds: float | None = None) -> str:
        """Create the next token.

        Args:
            user_id: The user the token acts as.
            admin: Whether the user is an account admin.
            ttl_seconds: Lifetime; None never expires.

        Returns:
            The token string.
        """
        with self._lock:
            token = make_token(self._seed, self._issued)
            self._issued += 1
            expires = None if ttl_seconds is None else self._clock() + ttl_seconds
            self._tokens[token] = TokenInfo(user_id, admin, expires)
            return token

    def revoke(self, token: str) -> None:
        """Forget a token (later requests with it get 401 Invalid access token)."""
        with self._lock:
            self._tokens.pop(token, None)

    def lookup(self, token: str) -> TokenInfo | None:
        """The token's info, or None when unknown, revoked or expired."""
        with self._lock:
            info = self._tokens.get(token)
            if info is None:
                return None
            if info.expires_at is not None and self._clock() >= info.expires_at:
                return None
            return info
