"""Client-credentials login and bearer JWTs (docs/canvas-data-2.md section 2), and per-route limits
(section 10)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

TOKEN_LIFETIME = 3599  # section 2: expires_in 3599, "typically expires in one hour"

# Section 10: calls per minute, each endpoint independent.
DEFAULT_LIMITS: dict[str, int] = {
    "list_tables": 5,
    "schema": 500,
    "create_job": 5,
    "get_job": 500,
    "object_url": 200,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    """Issues and checks HS256 JWTs with an `exp` claim (the client reads `exp` unverified)."""

    def __init__(self, key: bytes, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self.clock = clock
        self.lifetime = TOKEN_LIFETIME

    def issue(self, client_id: str) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        now = int(self.clock())
        claims = {"sub": client_id, "iat": now, "exp": now + self.lifetime, "iss": "dap-sandbox"}
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    def subject(self, token: str) -> str | None:
        """The client id a valid, unexpired token was issued to; None otherwise."""
        try:
            header, payload, signature = token.split(".")
            expected = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, _unb64(signature)):
                return None
            claims: dict[str, Any] = json.loads(_unb64(payload))
        except (ValueError, json.JSONDecodeError):
            return None
        if claims.get("exp", 0) <= self.clock():
            return None
        return str(claims.get("sub"))


class RouteLimits:
    """Sliding one-minute windows per (client, route)."""

    def __init__(
        self, limits: dict[str, int] | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.clock = clock
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, client: str, route: str) -> float | None:
        """Count a call; None when admitted, else the seconds until one would be."""
        now = self.clock()
        with self._lock:
            calls = self._calls.setdefault((client, route), deque())
            while calls and calls[0] <= now - 60.0:
                calls.popleft()
            if len(calls) >= self.limits[route]:
                return max(0.0, calls[0] + 60.0 - now)
            calls.append(now)
            return None
