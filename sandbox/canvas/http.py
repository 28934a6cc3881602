"""HTTP plumbing the Canvas routes share: JSON error bodies, the reply and request-context types, and
request parameters as Canvas reads them. Every route module builds on these; none imports app.py."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request, Response

from .pagination import LinkBase
from .tokens import TokenInfo

try:  # orjson ships with dlt; fall back to the stdlib when absent
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

except ImportError:  # pragma: no cover

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


API_PREFIX = "/api/v1"

NOT_FOUND = {"errors": [{"message": "The specified resource does not exist."}]}
UNAUTHORIZED = {
    "status": "unauthorized",
    "errors": [{"message": "user not authorized to perform that action"}],
}
INVALID_TOKEN = {"errors": [{"message": "Invalid access token."}]}
UNAUTHENTICATED = {"status": "unauthenticated", "errors": [{"message": "user authorization required"}]}
WWW_AUTHENTICATE = ("www-authenticate", 'Bearer realm="canvas-lms"')


class LowerCaseResponse(Response):
    # Response.set_data would add a capitalised "Content-Length"; we send our own lower-case one.
    automatically_set_content_length = False


class ApiError(Exception):
    """An error reply with a JSON body."""

    def __init__(self, status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload
        self.headers = list(headers)


@dataclass
class Reply:
    """What a handler produced: JSON payload, number of objects (for cost) and pagination links."""

    payload: Any
    items: int = 1
    link: str | None = None
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = None  # a non-JSON reply (bytes payload), e.g. a file download


@dataclass
class Ctx:
    """Per-request facts handlers need."""

    request: Request
    args: MultiDict[str, str]
    token: TokenInfo
    link_base: LinkBase

    def values(self, name: str) -> list[str]:
        """All values of an array param, accepting `name[]` and bare `name`."""
        return self.args.getlist(f"{name}[]") + self.args.getlist(name)

    def flag(self, name: str) -> bool:
        """A boolean param as Canvas's value_to_boolean reads it."""
        return (self.args.get(name) or "").lower() in ("1", "true", "t", "yes", "y", "on")


def int_or_404(value: str) -> int:
    """An id from the path; a non-numeric one is a missing resource, as in Canvas."""
    try:
        return int(value)
    except ValueError:
        raise ApiError(404, NOT_FOUND) from None


def request_params(request: Request) -> MultiDict[str, str]:
    """Query, form and JSON body parameters together (Canvas reads all three); JSON objects are
    flattened to `a[b]` keys and lists to `a[]`."""
    out: MultiDict[str, str] = MultiDict()
    for key, value in request.args.items(multi=True):
        out.add(key, value)
    mimetype = request.mimetype or ""
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            out.add(key, value)
    elif mimetype == "application/json":
        try:
            body = json.loads(request.get_data(cache=True) or b"{}")
        except ValueError:
            raise ApiError(400, {"errors": [{"message": "Invalid JSON body"}]}) from None
        _flatten(body, "", out)
    return out


def _flatten(value: Any, prefix: str, out: MultiDict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}[{k}]" if prefix else str(k), out)
    elif isinstance(value, list):
        for v in value:
            _flatten(v, f"{prefix}[]", out)
    elif value is not None:
        out.add(prefix, ("true" if value else "false") if isinstance(value, bool) else str(value))
