"""What a complete extract must hold: row counts, primary keys and rows of each table.

Tables, their primary keys, and what a row is (the route or data set that serves it):

==========================  ======================================  ==================================================
table                       primary key                             row
==========================  ======================================  ==================================================
org_units                   (OrgUnitId,)                            OrgUnitProperties (orgstructure/) + OrgUnitId
courses                     (OrgUnitId,)                            CourseOffering (courses/{ou}) + OrgUnitId
users                       (UserId,)                               UserData (users/)
enrollments                 (OrgUnitId, UserId)                     User Enrollments data set columns
classlists                  (OrgUnitId, UserId)                     ClasslistUser ({ou}/classlist/) + OrgUnitId, UserId
grade_setup                 (OrgUnitId,)                            GradeSetupInfo ({ou}/grades/setup/) + OrgUnitId
grade_categories            (OrgUnitId, CategoryId)                 GradeObjectCategory + OrgUnitId, CategoryId
grade_objects               (OrgUnitId, GradeObjectId)              GradeObject ({ou}/grades/) + OrgUnitId, GradeObjectId
grade_values                (OrgUnitId, GradeObjectId, UserId)      bulk GradeValue ({ou}/grades/values/)
                                                                    + GradeObjectId, IsExempt
final_grades                (OrgUnitId, UserId)                     {OrgUnitId, UserId, GradeValue} ({ou}/grades/final/values/)
attendance_registers        (AttendanceRegisterId,)                 Attendance Registers data set columns
attendance_sessions         (AttendanceSessionId,)                  Attendance Sessions data set columns
attendance_user_sessions    (UserId, AttendanceSessionId)           Attendance User Sessions data set columns
==========================  ======================================  ==================================================

Courses are the course offerings; org_units also holds the organization, departments, semesters,
course templates and sections. Enrollments and classlists are course-offering enrollments of every
role (section membership is served by `{ou}/sections/`). grade_values holds the value records of
enrolled students (graded, exempt, or a record without points); a student with no record on an item
has no row. final_grades has one row per enrolled student, with GradeValue None when nothing counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from . import shapes
from .datasets import DATA_SETS_BY_NAME, rows_of, scope_for
from .institution import Institution

Row = dict[str, Any]

KEYS: dict[str, tuple[str, ...]] = {
    "org_units": ("OrgUnitId",),
    "courses": ("OrgUnitId",),
    "users": ("UserId",),
    "enrollments": ("OrgUnitId", "UserId"),
    "classlists": ("OrgUnitId", "UserId"),
    "grade_categories": ("OrgUnitId", "CategoryId"),
    "grade_objects": ("OrgUnitId", "GradeObjectId"),
    "grade_values": ("OrgUnitId", "GradeObjectId", "UserId"),
    "final_grades": ("OrgUnitId", "UserId"),
    "grade_setup": ("OrgUnitId",),
    "attendance_registers": ("AttendanceRegisterId",),
    "attendance_sessions": ("AttendanceSessionId",),
    "attendance_user_sessions": ("UserId", "AttendanceSessionId"),
}
TABLES = tuple(KEYS)


def _org_units(inst: Institution) -> Iterator[Row]:
    for ou in inst.org_unit_ids:
        yield {"OrgUnitId": ou, **shapes.org_unit_properties(inst.org_units[ou])}


def _courses(inst: Institution) -> Iterator[Row]:
    for ou in inst.course_ids:
        yield {"OrgUnitId": ou, **shapes.course_offering(inst.courses[ou])}


def _users(inst: Institution) -> Iterator[Row]:
    for uid in inst.user_ids:
        yield shapes.user_data(inst.users[uid])


def _data_set_rows(name: str) -> Callable[[Institution], Iterator[Row]]:
    data_set = DATA_SETS_BY_NAME[name]

    def rows(inst: Institution) -> Iterator[Row]:
        for values in rows_of(inst, data_set, scope_for(inst)):
            yield dict(zip(data_set.columns, values, strict=True))

    return rows


def _classlists(inst: Institution) -> Iterator[Row]:
    for ou in inst.course_ids:
        course = inst.courses[ou]
        for uid in course.enrolled_user_ids():
            row = shapes.classlist_user(inst.users[uid], course.enrollments[uid])
            yield {"OrgUnitId": ou, "UserId": uid, **row}


def _grade_setup(inst: Institution) -> Iterator[Row]:
    for ou in inst.course_ids:
        yield {"OrgUnitId": ou, **shapes.grade_setup(inst.gradebook(inst.courses[ou]))}


def _grade_categories(inst: Institution) -> Iterator[Row]:
    for ou in inst.course_ids:
        book = inst.gradebook(inst.courses[ou])
        for category in book.categories:
            yield {"OrgUnitId": ou, "CategoryId": category.id, **shapes.grade_category(book, category)}


def _grade_objects(inst: Institution) -> Iterator[Row]:
    for ou in inst.course_ids:
        book = inst.gradebook(inst.courses[ou])
        for item in book.items:
            yield {"OrgUnitId": ou, "GradeObjectId": item.id, **shapes.grade_object(book, item)}


def _grade_values(inst: Institution) -> Iterator[Row]:
    for ou in inst.course_ids:
        book = inst.gradebook(inst.courses[ou])
        for k, item in enumerate(book.items):
            for s in range(len(book.students)):
                if book.has_value(k, s):
                    value = shapes.grade_value(book, k, s, bulk=True)
                    yield {"GradeObjectId": item.id, **value, "IsExempt": shapes.is_exempt(book, k, s)}


def _final_grades(inst: Institution) -> Iterator[Row]:
    for ou in inst.course_ids:
        book = inst.gradebook(inst.courses[ou])
        for s, uid in enumerate(book.students):
            if book.enrolled[s]:
                yield {"OrgUnitId": ou, "UserId": uid, "GradeValue": shapes.final_grade_value(book, s)}


ROWS: dict[str, Callable[[Institution], Iterator[Row]]] = {
    "org_units": _org_units,
    "courses": _courses,
    "users": _users,
    "enrollments": _data_set_rows("User Enrollments"),
    "classlists": _classlists,
    "grade_setup": _grade_setup,
    "grade_categories": _grade_categories,
    "grade_objects": _grade_objects,
    "grade_values": _grade_values,
    "final_grades": _final_grades,
    "attendance_registers": _data_set_rows("Attendance Registers"),
    "attendance_sessions": _data_set_rows("Attendance Sessions"),
    "attendance_user_sessions": _data_set_rows("Attendance User Sessions"),
}


def counts(inst: Institution) -> dict[str, int]:
    """Row counts of every table (without building the rows)."""
    with inst.lock:
        inst.materialize()
        courses = [inst.courses[ou] for ou in inst.course_ids]
        books = [inst.gradebook(c) for c in courses]
        registers = [inst.attendance(c) for c in courses]
        enrollments = sum(len(c.enrollments) for c in courses)
        return {
            "org_units": len(inst.org_units),
            "courses": len(courses),
            "users": len(inst.users),
            "enrollments": enrollments,
            "classlists": enrollments,
            "grade_categories": sum(len(b.categories) for b in books),
            "grade_objects": sum(len(b.items) for b in books),
            "grade_values": sum(b.value_count() for b in books),
            "final_grades": sum(sum(b.enrolled) for b in books),
            "grade_setup": len(courses),
            "attendance_registers": len(registers),
            "attendance_sessions": sum(len(r.sessions) for r in registers),
            "attendance_user_sessions": sum(r.mark_count() for r in registers),
        }


def rows(inst: Institution, table: str) -> list[Row]:
    """Every row of a table.

    Raises:
        KeyError: for an unknown table name.
    """
    if table not in ROWS:
        raise KeyError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
    with inst.lock:
        return list(ROWS[table](inst))


def keys(inst: Institution, table: str) -> set[tuple[Any, ...]]:
    """The primary keys of a table's rows."""
    columns = KEYS[table] if table in KEYS else ()
    return {tuple(row[c] for c in columns) for row in rows(inst, table)}
