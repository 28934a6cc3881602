"""Advanced Data Sets (ADS): the export-job catalogue of `dataExport/list`, separate from BDS.

ADS are reports run on demand (docs/brightspace-api.md §6.2): `dataExport/create` with filters, poll, download.
D2L's list of ADS (KB 4539 "List of Advanced Data Sets"): All Grades, Awards Issued, CLOE, Enrollments and
Withdrawals, Final Grades, Impersonated Sessions History, Instructor Usage, Learner Usage. The sandbox
serves All Grades. Its first columns are KB 4539's; the grade columns after "Course Offering Name" are
UNCONFIRMED (the page was read only that far) and named in the same spaced style. The date range filters on
the grade's last modified date, as the KB says.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from .datasets import DataSet, Row, Scope
from .gradebook import GRADED
from .institution import Institution
from .timestamps import to_utc_string

ALL_GRADES_COLUMNS = (
    "User Id",
    "Org Defined Id",
    "Username",
    "First Name",
    "Last Name",
    "Is Active",
    "Role Id",
    "Role Name",
    "Course Offering Id",
    "Course Offering Code",
    "Course Offering Name",
    "Grade Item Id",
    "Grade Item Name",
    "Points Numerator",
    "Points Denominator",
    "Last Modified",
)


def _all_grades(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        book = inst.gradebook(course)
        for k, item in enumerate(book.items):
            states, points, modified = book.state[k], book.points[k], book.modified[k]
            for s, uid in enumerate(book.students):
                if states[s] != GRADED or not book.enrolled[s]:
                    continue
                user, role = inst.users[uid], course.enrollments[uid].role
                yield (
                    modified[s],
                    [
                        uid,
                        user.org_defined_id,
                        user.user_name,
                        user.first_name,
                        user.last_name,
                        user.is_active,
                        role.id,
                        role.name,
                        course.ou.id,
                        course.ou.code,
                        course.ou.name,
                        item.id,
                        item.name,
                        points[s],
                        item.max_points,
                        to_utc_string(modified[s]),
                    ],
                )


def _ads_guid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.brightspace.local/ads/{name}"))


ADS_DATA_SETS: tuple[DataSet, ...] = (
    DataSet(
        "All Grades",
        "One row for each gradable item for each learner in each course offering.",
        ALL_GRADES_COLUMNS,
        ("User Id", "Course Offering Id", "Grade Item Id"),
        _all_grades,
        _ads_guid("All Grades"),
        "",
        "",
    ),
)
