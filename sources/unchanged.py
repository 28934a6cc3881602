"""Skip rows a full-refresh resource read again without change, so reruns load only what changed.

Most LMS collections have no change filter (Canvas sections, enrollments, assignments, users;
Brightspace classlists, grade setup), so every run must read them again. Reading is unavoidable;
normalizing and merging the same rows again is not. Two ways to skip them, each safe for one
write disposition:

- `CourseDigests`, for resources merged with `merge_key` on the course (each load replaces the
  course's rows): one fingerprint of all of a course's rows. An unchanged course yields nothing,
  so its rows in the warehouse stay as they are; a changed course yields all of its rows.
- `PageDigests`, for listings merged on their primary key (a loaded row is only ever replaced by
  a newer copy of itself): one fingerprint per page. A page equal to one loaded before holds rows
  the warehouse already has, so it is left out.

Fingerprints live in dlt resource state, which dlt commits with the load package that carries the
rows and rewinds when that package is aborted, so a fingerprint never outlives rows that did not
load. `salt` (for example the privacy policy's signature) is mixed into each fingerprint: when it
changes, everything loads again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

STATE_KEY = "unchanged"


def _canonical(row: dict[str, Any]) -> bytes:
    return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)


def row_fingerprint(row: dict[str, Any]) -> str:
    """A short fingerprint of one row (keys sorted), as the incremental syncs keep for their overlap
    windows (Canvas submissions, Brightspace grade values)."""
    return hashlib.blake2b(_canonical(row), digest_size=12).hexdigest()


def fingerprint(rows: Iterable[dict[str, Any]], salt: str = "") -> str:
    """A short, order-sensitive fingerprint of rows (keys sorted inside each row)."""
    digest = hashlib.blake2b(salt.encode(), digest_size=12)
    for row in rows:
        digest.update(_canonical(row))
        digest.update(b"\n")
    return digest.hexdigest()


class CourseDigests:
    """Per-course fingerprints of one resource, kept in that resource's state.

    `state` is the resource state dict, taken in the extract thread; `changed` may run in a
    worker thread (each course touches its own key only).
    """

    def __init__(self, state: dict[str, Any], salt: str = "") -> None:
        self._seen: dict[str, str] = state.setdefault(STATE_KEY, {})
        self.salt = salt

    def changed(self, course_id: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """`rows` if they differ from the course's rows at the last run, else an empty list."""
        key = str(course_id)
        digest = fingerprint(rows, self.salt)
        if self._seen.get(key) == digest:
            return []
        self._seen[key] = digest
        return rows


class PageDigests:
    """Per-page fingerprints of a primary-key-merged listing; old ones are forgotten at the end."""

    def __init__(self, state: dict[str, Any], salt: str = "") -> None:
        self.state = state
        self.salt = salt
        self._before = set(state.get(STATE_KEY, []))
        self._now: set[str] = set()

    def fresh(self, pages: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Yield only the pages not loaded before; record every page once the listing ends."""
        for page in pages:
            digest = fingerprint(page, self.salt)
            self._now.add(digest)
            if digest not in self._before:
                yield page
        self.state[STATE_KEY] = sorted(self._now)
