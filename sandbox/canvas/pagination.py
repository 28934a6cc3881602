"""Canvas pagination: per_page clamping, numbered and bookmark pages, and the `link` header."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

T = TypeVar("T")

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 100
# Not carried into links (Api.build_links_hash); page/per_page are re-appended explicitly.
_DROPPED_PARAMS = frozenset({"page", "per_page", "access_token", "api_key"})
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")


class InvalidPage(Exception):
    """A page value the collection cannot serve (Canvas answers 404)."""


def ruby_to_i(value: str | None, default: int) -> int:
    """Ruby's String#to_i: leading digits, else 0; `default` when the value is absent."""
    if value is None:
        return default
    match = _LEADING_INT.match(value)
    return int(match.group(1)) if match else 0


def per_page_for(args: MultiDict[str, str], default: int = DEFAULT_PER_PAGE) -> int:
    """`per_page` as Api.per_page_for computes it: to_i, silently clamped to [1, 100].

    Args:
        args: The request's query arguments.
        default: The endpoint's default page size.

    Returns:
        The page size.
    """
    return min(max(ruby_to_i(args.get("per_page"), default), 1), MAX_PER_PAGE)


def encode_bookmark(values: Sequence[Any]) -> str:
    """`bookmark:` + URL-safe base64 (unpadded) of the JSON bookmark, like JSONToken.encode."""
    raw = json.dumps(list(values), separators=(",", ":")).encode()
    return "bookmark:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_bookmark(page: str) -> list[Any]:
    """Inverse of `encode_bookmark`.

    Raises:
        InvalidPage: When the token is not a bookmark this server issued.
    """
    token = page[len("bookmark:") :]
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPage(page) from exc
    if not isinstance(value, list):
        raise InvalidPage(page)
    return value


@dataclass(frozen=True, slots=True)
class LinkBase:
    """Where links point: absolute URL of the request path plus its query minus paging params."""

    url: str
    params: tuple[tuple[str, str], ...]

    @classmethod
    def from_request(cls, host_url: str, path: str, args: MultiDict[str, str]) -> LinkBase:
        """Build from the request's host URL (`http://host:port/`), path and query arguments."""
        kept = tuple((k, v) for k, v in args.items(multi=True) if k not in _DROPPED_PARAMS)
        return cls(host_url.rstrip("/") + path, kept)

    def link(self, page: str | int, per_page: int) -> str:
        """The URL of one page."""
        query = urlencode(self.params + (("page", str(page)), ("per_page", str(per_page))), safe=":")
        return f"{self.url}?{query}"


def link_header(base: LinkBase, per_page: int, rels: Sequence[tuple[str, str | int]]) -> str:
    """`<url>; rel="x"` entries joined by commas, in the order given (current,next,prev,first,last)."""
    return ",".join(f'<{base.link(page, per_page)}>; rel="{rel}"' for rel, page in rels)


def paginate_numbered(
    rows: Sequence[T],
    args: MultiDict[str, str],
    base: LinkBase,
    *,
    total_known: bool = True,
    default_per_page: int = DEFAULT_PER_PAGE,
) -> tuple[Sequence[T], str]:
    """One numbered page (`page=1,2,...`) and its link header; pages past the end are empty.

    Args:
        rows: The whole ordered collection.
        args: Query arguments (`page`, `per_page`).
        base: Link base for this request.
        total_known: False where Canvas passes `total_entries: nil` (no rel="last").
        default_per_page: The endpoint's default page size.

    Returns:
        (page rows, link header value).

    Raises:
        InvalidPage: For page < 1 or a non-numeric page.
    """
    per_page = per_page_for(args, default_per_page)
    raw_page = args.get("page")
    page = 1 if raw_page is None else ruby_to_i(raw_page, 1)
    if page < 1:
        raise InvalidPage(raw_page)
    start = (page - 1) * per_page
    chunk = rows[start : start + per_page]
    total = len(rows)
    last_page = max(1, -(-total // per_page))
    rels: list[tuple[str, str | int]] = [("current", page)]
    if start + per_page < total:
        rels.append(("next", page + 1))
    if page > 1:
        rels.append(("prev", page - 1))
    rels.append(("first", 1))
    if total_known:
        rels.append(("last", last_page))
    return chunk, link_header(base, per_page, rels)


def paginate_bookmarked(
    rows: Sequence[T],
    key: Callable[[T], tuple[Any, ...]],
    args: MultiDict[str, str],
    base: LinkBase,
    default_per_page: int = DEFAULT_PER_PAGE,
) -> tuple[Sequence[T], str]:
    """One bookmark page (`page=first`, then `page=bookmark:...`) and its link header.

    Args:
        rows: The collection, sorted ascending by `key`.
        key: Sort key; its value for the last row of a page is the next page's bookmark.
        args: Query arguments (`page`, `per_page`).
        base: Link base for this request.
        default_per_page: The endpoint's default page size.

    Returns:
        (page rows, link header value) with rels current, next (if more), first; never last.

    Raises:
        InvalidPage: For a numeric page other than 1, or an unreadable bookmark.
    """
    per_page = per_page_for(args, default_per_page)
    page = args.get("page") or "first"
    if page.startswith("bookmark:"):
        after = tuple(decode_bookmark(page))
        try:
            start = bisect.bisect_right(rows, after, key=key)
        except TypeError as exc:  # bookmark of another collection's shape
            raise InvalidPage(page) from exc
    elif page == "first" or page.strip() == "1":
        start = 0
    else:
        raise InvalidPage(page)
    chunk = rows[start : start + per_page]
    rels: list[tuple[str, str | int]] = [("current", page)]
    if start + per_page < len(rows):
        rels.append(("next", encode_bookmark(key(chunk[-1]))))
    rels.append(("first", "first"))
    return chunk, link_header(base, per_page, rels)
