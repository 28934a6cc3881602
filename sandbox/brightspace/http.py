"""HTTP plumbing the Brightspace routes share: the versions served, error replies in Valence's shape
and query parameters read as Valence reads them."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from .pagination import BadRequest

Json = Any
LP_LATEST = 53
LE_LATEST = 92
# Versions served (UNCONFIRMED window; the latest are those of the newest real configs in the reference).
SUPPORTED_VERSIONS: dict[str, tuple[str, ...]] = {
    "lp": tuple(f"1.{n}" for n in range(10, LP_LATEST + 1)),
    "le": tuple(f"1.{n}" for n in range(20, LE_LATEST + 1)),
}


class ApiError(Exception):
    """An error reply: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        """Carry the status with the message."""
        super().__init__(message)
        self.status = status


def json_response(data: Json, status: int = 200) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), status=status, mimetype="application/json")


def error_response(status: int, message: str) -> Response:
    return json_response({"Errors": [{"Message": message}]}, status)


def flag_param(value: str | None) -> bool | None:
    """A true/false query parameter; empty or absent is None."""
    if value is None or value == "":
        return None
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise BadRequest(f"{value!r} is not a boolean (true/false)")


def int_param(value: str | None, name: str) -> int | None:
    """An integer query parameter; empty or absent is None."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest(f"{name} must be an integer, not {value!r}") from exc
