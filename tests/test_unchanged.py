"""Fingerprints that let full-refresh resources skip rows they read again without change."""

from __future__ import annotations

import hashlib
from typing import Any

from sources.unchanged import CourseDigests, PageDigests, fingerprint, row_fingerprint


def test_fingerprint_ignores_key_order_but_not_values_row_order_or_salt() -> None:
    a = [{"id": 1, "name": "A"}, {"id": 2, "name": "B"}]
    assert fingerprint(a) == fingerprint([{"name": "A", "id": 1}, {"name": "B", "id": 2}])
    assert fingerprint(a) != fingerprint([{"id": 1, "name": "A"}, {"id": 2, "name": "b"}])
    assert fingerprint(a) != fingerprint(list(reversed(a)))
    assert fingerprint(a) != fingerprint(a, salt="other policy")


def test_a_course_yields_its_rows_only_when_they_changed() -> None:
    state: dict[str, Any] = {}
    rows = [{"id": 1, "course_id": 7}]
    assert CourseDigests(state).changed(7, rows) == rows  # first run
    assert CourseDigests(state).changed(7, rows) == []  # unchanged
    edited = [{"id": 1, "course_id": 7, "name": "new"}]
    assert CourseDigests(state).changed(7, edited) == edited
    assert CourseDigests(state).changed(8, rows) == rows  # another course has its own digest
    assert CourseDigests(state, salt="new key").changed(7, edited) == edited


def test_pages_seen_before_are_left_out_and_forgotten_once_no_longer_read() -> None:
    state: dict[str, Any] = {}
    p1, p2, p3 = [{"id": 1}], [{"id": 2}], [{"id": 3}]
    assert list(PageDigests(state).fresh([p1, p2])) == [p1, p2]
    assert list(PageDigests(state).fresh([p1, p3])) == [p3]
    # p2 was not read last time, so its fingerprint is gone: it loads again
    assert list(PageDigests(state).fresh([p2, p3])) == [p2]


def test_row_fingerprints_keep_the_formula_stored_in_existing_state() -> None:
    # overlap-window fingerprints of earlier runs are in dlt state: a new formula would reload them
    expected = hashlib.blake2b(b'{"a":2,"b":"x"}', digest_size=12).hexdigest()
    assert row_fingerprint({"b": "x", "a": 2}) == expected
