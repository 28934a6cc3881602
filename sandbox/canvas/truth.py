"""What a complete admin extract of the Canvas sandbox holds, per REST table: counts, keys and the
API objects as served (the engagement tables are analytics.py's)."""

from __future__ import annotations

from typing import Any

from .institution import Institution
from .payloads import (
    account_json,
    assignment_json,
    course_json,
    enrollment_json,
    group_json,
    section_json,
    submission_json,
    term_json,
    user_json,
)

TABLES = (
    "accounts",
    "terms",
    "courses",
    "sections",
    "users",
    "enrollments",
    "assignment_groups",
    "assignments",
    "submissions",
)


# grading setup tables (counted only when asked for, like the engagement tables)
GRADING_TABLES = (
    "grading_period_sets",
    "grading_periods",
    "enrollment_period_grades",
    "late_policies",
    "custom_grade_statuses",
)


def grading_keys(inst: Institution, table: str) -> set[tuple[Any, ...]]:
    """Keys of a grading setup table: `(id,)`, or `(enrollment_id, grading_period_id)` for
    enrollment_period_grades (every StudentEnrollment of a course x its term's periods)."""
    with inst.lock:
        if table == "grading_period_sets":
            return {(g.id,) for g in inst.grading_period_sets}
        if table == "grading_periods":
            return {(p.id,) for g in inst.grading_period_sets for p in g.periods}
        if table == "enrollment_period_grades":
            out: set[tuple[Any, ...]] = set()
            for c in inst.courses:
                period_set = inst.period_set(c)
                for e in c.enrollments if period_set else ():
                    if e.type == "StudentEnrollment":
                        out |= {(e.id, p.id) for p in period_set.periods}  # type: ignore[union-attr]
            return out
        if table == "late_policies":
            return {(c.id,) for c in inst.courses}  # every course serves one (payloads.late_policy_json)
        if table == "custom_grade_statuses":
            return {(s.id,) for s in inst.custom_grade_statuses}
    raise ValueError(f"unknown grading table {table!r}; use one of {GRADING_TABLES}")


def counts(inst: Institution) -> dict[str, int]:
    """Rows per REST table."""
    with inst.lock:
        return {
            "accounts": len(inst.accounts),
            "terms": len(inst.terms),
            "courses": len(inst.courses),
            "sections": sum(len(c.sections) for c in inst.courses),
            "users": len(inst.users),
            "enrollments": sum(len(c.enrollments) for c in inst.courses),
            "assignment_groups": sum(len(c.groups) for c in inst.courses),
            "assignments": sum(len(c.assignments) for c in inst.courses),
            "submissions": sum(len(inst.served_submissions(c)) for c in inst.courses),
        }


def keys(inst: Institution, table: str) -> set[tuple[Any, ...]]:
    """Primary keys: `(id,)`, or `(course_id, assignment_id, user_id)` for submissions."""
    if table in GRADING_TABLES:
        return grading_keys(inst, table)
    _check_table(table)
    with inst.lock:
        if table == "submissions":
            return {
                (c.id, s.assignment.id, s.user_id) for c in inst.courses for s in inst.served_submissions(c)
            }
        return {(row.id,) for row in _records(inst, table)}


def rows(inst: Institution, table: str) -> list[dict[str, Any]]:
    """The API objects of a table as served with default options (submissions gain `course_id`)."""
    _check_table(table)
    with inst.lock:
        if table == "accounts":
            return [account_json(a) for a in inst.accounts]
        if table == "terms":
            return [term_json(t, inst) for t in inst.terms]
        if table == "courses":
            return [course_json(c, inst) for c in inst.courses]
        if table == "sections":
            return [section_json(s, c) for c in inst.courses for s in c.sections]
        if table == "users":
            return [user_json(u) for u in inst.users]
        if table == "enrollments":
            rows = []
            for c in inst.courses:
                grades = inst.grades(c)
                rows.extend(
                    enrollment_json(e, c, inst, grades.get(e.id)) for e in inst.ordered_enrollments(c)
                )
            return rows
        if table == "assignment_groups":
            return [
                group_json(g)
                for c in inst.courses
                for g in sorted(c.groups, key=lambda g: (g.position, g.id))
            ]
        if table == "assignments":
            return [assignment_json(a) for c in inst.courses for a in c.assignments]
        rows = []
        for c in inst.courses:
            for s in inst.served_submissions(c):
                row = submission_json(s, inst)
                row["course_id"] = c.id
                rows.append(row)
        return rows


def _records(inst: Institution, table: str) -> list[Any]:
    if table == "accounts":
        return inst.accounts
    if table == "terms":
        return inst.terms
    if table == "courses":
        return inst.courses
    if table == "users":
        return inst.users
    attr = {
        "sections": "sections",
        "enrollments": "enrollments",
        "assignment_groups": "groups",
        "assignments": "assignments",
    }[table]
    return [row for c in inst.courses for row in getattr(c, attr)]


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; use one of {TABLES}")
