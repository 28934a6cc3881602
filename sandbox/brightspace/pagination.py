"""The two Valence paging envelopes: PagedResultSet (bookmark) and ObjectListPage (Next URL).

Page sizes are not documented for most routes (UNCONFIRMED); the sandbox serves 100 items per
PagedResultSet page and, on ObjectListPage routes, 100 by default with `pageSize` accepted from 1 to
200 (the documented range of the bulk grade values route).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

T = TypeVar("T")
Json = dict[str, Any]

PAGED_RESULT_SET_SIZE = 100
OBJECT_LIST_PAGE_SIZE = 100
OBJECT_LIST_PAGE_MAX = 200


class BadRequest(ValueError):
    """A query parameter the route cannot use (served as 400)."""


def paged_result_set(
    items: Sequence[T],
    keys: Sequence[int],
    bookmark: str | None,
    render: Callable[[T], Json],
    page_size: int = PAGED_RESULT_SET_SIZE,
) -> Json:
    """One PagedResultSet page: `{"PagingInfo": {"Bookmark", "HasMoreItems"}, "Items": [...]}`.

    Args:
        items: every item the route lists, in key order.
        keys: the integer key of each item, ascending (the bookmark is the last key served).
        bookmark: the `bookmark` query value, or None for the first page.
        render: turns an item into its JSON block.
        page_size: items per page.

    Raises:
        BadRequest: when the bookmark is not one this route hands out.
    """
    start = 0
    if bookmark:
        try:
            start = bisect_right(keys, int(bookmark))
        except ValueError as exc:
            raise BadRequest(f"bookmark {bookmark!r} is not valid for this route") from exc
    page = items[start : start + page_size]
    end = start + len(page)
    return {
        "PagingInfo": {
            "Bookmark": str(keys[end - 1]) if page else (bookmark or ""),
            "HasMoreItems": end < len(items),
        },
        "Items": [render(item) for item in page],
    }


def page_size_param(value: str | None) -> int:
    """Validate an ObjectListPage `pageSize` (1-200, default 100).

    Raises:
        BadRequest: when it is not an integer in range.
    """
    if value is None or value == "":
        return OBJECT_LIST_PAGE_SIZE
    try:
        size = int(value)
    except ValueError as exc:
        raise BadRequest(f"pageSize {value!r} is not an integer") from exc
    if not 1 <= size <= OBJECT_LIST_PAGE_MAX:
        raise BadRequest(f"pageSize must be between 1 and {OBJECT_LIST_PAGE_MAX}")
    return size


def object_list_page(
    entries: Iterator[tuple[str, T]],
    render: Callable[[T], Json],
    page_size: int,
    next_url: Callable[[str], str],
) -> Json:
    """One ObjectListPage: `{"Next": url | null, "Objects": [...]}`.

    Args:
        entries: (bookmark, item) pairs from the first one after the request's bookmark, in order;
            consumed lazily, one past the page to learn whether a next page exists.
        render: turns an item into its JSON object.
        page_size: objects per page.
        next_url: builds the Next URL from the bookmark of the page's last object.
    """
    page: list[T] = []
    last = ""
    for bookmark, item in entries:
        if len(page) == page_size:
            return {"Next": next_url(last), "Objects": [render(i) for i in page]}
        page.append(item)
        last = bookmark
    return {"Next": None, "Objects": [render(i) for i in page]}


def url_with(base: str, params: dict[str, str], **changes: str) -> str:
    """`base` with the query `params` updated by `changes`."""
    query = {**params, **changes}
    return f"{base}?{urlencode(query)}" if query else base
