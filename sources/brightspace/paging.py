"""Valence paging: PagedResultSet (Bookmark), ObjectListPage (Next) and bare arrays, told apart per reply."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from ..lms_http.errors import LmsApiError
from ..lms_http.rest_client import LmsRestClient


class EnvelopeError(LmsApiError):
    """A reply had none of the shapes Valence documents for a list."""


def envelope_of(body: Any) -> str:
    """'paged' (Items + PagingInfo), 'objects' (Objects + Next), 'array' (a bare list) or 'object'."""
    if isinstance(body, list):
        return "array"
    if isinstance(body, dict):
        if "Items" in body and "PagingInfo" in body:
            return "paged"
        if "Objects" in body:
            return "objects"
        return "object"
    return "other"


class ValencePaginator(BasePaginator):
    """Follows whichever envelope the reply has (the docs mislabel some routes, so never assume).

    PagedResultSet: send `bookmark=<PagingInfo.Bookmark>` until `HasMoreItems` is false.
    ObjectListPage: follow `Next` until it is null; its host is replaced by ours (Valence returns
    absolute URLs that may name another host) and our query parameters are kept if it drops them.
    A bare array is a single page.
    """

    def __init__(self) -> None:
        super().__init__()
        self._bookmark: str | None = None
        self._next_url: str | None = None

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        body = response.json()
        kind = envelope_of(body)
        self._bookmark = self._next_url = None
        if kind == "paged":
            info = body.get("PagingInfo") or {}
            bookmark = info.get("Bookmark")
            self._has_next_page = bool(info.get("HasMoreItems")) and bool(bookmark)
            self._bookmark = str(bookmark) if self._has_next_page else None
        elif kind == "objects":
            nxt = body.get("Next")
            self._has_next_page = bool(nxt)
            self._next_url = str(nxt) if nxt else None
        else:
            self._has_next_page = False

    def update_request(self, request: Request) -> None:
        if self._bookmark is not None:
            request.params = {**(request.params or {}), "bookmark": self._bookmark}
        elif self._next_url is not None:
            request.url, request.params = rebase_next(request.url, request.params or {}, self._next_url)


def rebase_next(current_url: str, params: dict[str, Any], next_url: str) -> tuple[str, dict[str, Any]]:
    """The next page's URL on our host, and the query to send with it."""
    cur = urlsplit(current_url)
    nxt = urlsplit(next_url)
    query = dict(parse_qsl(nxt.query, keep_blank_values=True))
    for key, value in params.items():
        query.setdefault(key, value)  # keep filters (modifiedSince, pageSize) the Next URL left out
    path = nxt.path or cur.path
    url = urlunsplit((cur.scheme, cur.netloc, path, "", ""))
    return url, query


class ValenceRestClient(LmsRestClient):
    """dlt's RESTClient reading the list out of whichever Valence envelope a reply has."""

    def extract_response(self, response: Response, data_selector: Any) -> list[Any]:
        body = response.json()
        kind = envelope_of(body)
        if kind == "array":
            return list(body)
        if kind == "paged":
            return list(body.get("Items") or [])
        if kind == "objects":
            return list(body.get("Objects") or [])
        raise EnvelopeError(
            f"Brightspace replied to {urlsplit(response.url).path} with a {type(body).__name__} "
            f"{_keys(body)}, not a Valence list (Items/PagingInfo, Objects/Next or an array).",
            response.status_code,
            urlsplit(response.url).path,
        )


def _keys(body: Any) -> str:
    return f"with keys {sorted(body)[:8]}" if isinstance(body, dict) else ""


__all__ = ["EnvelopeError", "ValencePaginator", "ValenceRestClient", "envelope_of", "rebase_next"]
