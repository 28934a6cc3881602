"""A paginator wrapper that stops a listing whose next page (link or bookmark) it has already read."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dlt.sources.helpers.rest_client.paginators import BasePaginator
from requests import Request, Response

from .errors import LmsPaginationLoopError, safe_path


def page_key(request: Request) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What identifies a page request: the URL path and every query parameter, order-free."""
    parts = urlsplit(request.url or "")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name, value in (request.params or {}).items():
        query[str(name)] = str(value)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", tuple(sorted(query.items()))


class LoopGuard(BasePaginator):
    """Delegates to `inner` and raises when the next request repeats one this listing already made.

    A pagination loop (an LMS page repeating the previous page's `next` link, or a bookmark that
    does not move) would otherwise read the same rows forever, or be cut off at some page cap and
    silently truncate the listing. Stopping with a clear error keeps the warehouse as it was.

    Args:
        inner: the LMS's paginator (Link header, Valence bookmark / Next).
        lms: "Canvas" or "Brightspace", used in the message.
    """

    def __init__(self, inner: BasePaginator, lms: str) -> None:
        super().__init__()
        self.inner = inner
        self.lms = lms
        self._seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
        self.pages = 0

    @property
    def has_next_page(self) -> bool:  # type: ignore[override]
        return self.inner.has_next_page

    def init_request(self, request: Request) -> None:
        self.inner.init_request(request)
        self._seen = {page_key(request)}

    def update_state(self, response: Response, data: list[Any] | None = None) -> None:
        self.pages += 1
        self.inner.update_state(response, data)

    def update_request(self, request: Request) -> None:
        self.inner.update_request(request)
        if not self.inner.has_next_page:
            return
        key = page_key(request)
        if key in self._seen:
            path = safe_path(request.url)
            raise LmsPaginationLoopError(
                f"{self.lms} sent a next page that this listing of {path} had already read (a "
                f"pagination loop after {self.pages} page(s)). The run stops rather than load a "
                "partial or repeated listing; rerun later, and report it to the LMS admin if it repeats.",
                None,
                path,
            )
        self._seen.add(key)

    def __str__(self) -> str:
        return f"LoopGuard({self.inner})"


__all__ = ["LoopGuard", "page_key"]
