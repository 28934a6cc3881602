"""Checks a successful reply really is the JSON an LMS API sends: truncated, malformed and HTML bodies are faults."""

from __future__ import annotations

import json

import orjson
from requests import Response
from requests.exceptions import RequestException


class BadReply(RequestException):
    """A 2xx reply whose body is not what the API sends (retried like a 5xx)."""

    def __init__(self, what: str, cause: str, response: Response) -> None:
        super().__init__(what, response=response, request=response.request)
        self.what = what
        self.cause = cause  # the retry cause: "malformed" or "html"
        self.status = response.status_code


def check_reply(response: Response) -> None:
    """Raise `BadReply` if a 2xx reply is an HTML page or announces JSON that does not parse.

    A JSON body that parses is kept: the reply's `json()` returns it from then on, without
    parsing the page again.

    Other bodies (CSV reports, ZIP exports) and error statuses pass untouched; an LMS API never
    answers our client with an HTML page, so one arriving with status 200 is a proxy's or
    maintenance page.

    Raises:
        BadReply: the reply's body is HTML, or is JSON that is truncated or malformed.
    """
    if not 200 <= response.status_code < 300:
        return
    kind = (response.headers.get("content-type") or "").lower()
    if "text/html" in kind:
        raise BadReply("an HTML page (status 200)", "html", response)
    if "json" not in kind:
        return
    body = response.content
    if not body or not body.strip():
        return
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        try:  # orjson refuses some valid JSON (integers past 64 bits); the stdlib decides
            parsed = json.loads(body)
        except ValueError:
            raise BadReply("a truncated or malformed JSON body", "malformed", response) from None
    # keep what was parsed: the paginator and dlt's data selector call `json()` again per page
    response.json = lambda **_: parsed  # type: ignore[method-assign]


__all__ = ["BadReply", "check_reply"]
