"""The SIS roster the sandbox institution came from, with planted differences from what Canvas holds.

The roster is an SIS enrollments file (the columns of Canvas's SIS `enrollments.csv`): one row per
enrollment of a user with an SIS id in a course with an SIS id, keyed by SIS ids. Canvas states map
to SIS statuses as the enrolment audit reads them: active and invited -> `active`, `completed`,
`inactive` and `deleted` as themselves. Observers (no SIS ids) and default-term shells are left out.

Planted, deterministically from (size, seed), each at least 3 and about 1% of student enrollments:
- `missing_in_lms`: students the SIS enrolls (status active) in a course where Canvas has no
  enrollment for them;
- `extra_in_lms`: live Canvas student enrollments the SIS does not list;
- `state_mismatch`: dropped in the SIS (`deleted`) but active in Canvas, and a few the other way
  (active in the SIS, deleted in Canvas).

The roster is fixed when first built; `differences()` compares it with Canvas as it is now, so
after `advance()` drops an enrollment the audit's truth moves with it.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from .institution import Institution
from .model import Course, Enrollment

ROSTER_COLUMNS = ("course_id", "user_id", "role", "section_id", "status")
ROLES = {
    "StudentEnrollment": "student",
    "TeacherEnrollment": "teacher",
    "TaEnrollment": "ta",
    "DesignerEnrollment": "designer",
}
SIS_STATUS = {
    "active": "active",
    "invited": "active",
    "completed": "completed",
    "inactive": "inactive",
    "deleted": "deleted",
}
Key = tuple[str, str]  # (SIS course id, SIS user id)


def _key(course: Course, e: Enrollment) -> Key | None:
    if not course.sis_course_id or not e.user.sis_user_id or e.type not in ROLES:
        return None
    return (course.sis_course_id, e.user.sis_user_id)


def lms_statuses(inst: Institution) -> dict[Key, str]:
    """Canvas's enrollments as SIS statuses, keyed by (SIS course id, SIS user id)."""
    out: dict[Key, str] = {}
    for course in inst.courses:
        for e in course.enrollments:
            key = _key(course, e)
            if key is not None:
                out[key] = SIS_STATUS.get(e.state, "active")
    return out


class SisRoster:
    """The roster rows (fixed at construction) and the differences planted in them.

    Args:
        inst: The institution the roster describes.
    """

    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        with inst.lock:
            self.rows, self.planted = self._build()

    def _build(self) -> tuple[list[dict[str, str]], dict[str, set[Key]]]:
        inst = self.inst
        rng = random.Random(f"canvas-sis-roster:{inst.size}:{inst.seed}")
        rows: dict[Key, dict[str, str]] = {}
        live_students: list[tuple[Course, Enrollment]] = []
        dropped_students: list[tuple[Course, Enrollment]] = []
        for course in inst.courses:
            for e in sorted(course.enrollments, key=lambda e: e.id):
                key = _key(course, e)
                if key is None:
                    continue
                rows[key] = {
                    "course_id": key[0],
                    "user_id": key[1],
                    "role": ROLES[e.type],
                    "section_id": e.section.sis_section_id or "",
                    "status": SIS_STATUS.get(e.state, "active"),
                }
                if e.type == "StudentEnrollment" and e.state == "active":
                    live_students.append((course, e))
                elif e.type == "StudentEnrollment" and e.state == "deleted":
                    dropped_students.append((course, e))
        count = max(3, round(0.01 * len(live_students)))
        picked = rng.sample(live_students, min(len(live_students), 3 * count))
        extra = picked[:count]
        dropped_in_sis = picked[count : 2 * count]
        for course, e in extra:
            del rows[(course.sis_course_id, e.user.sis_user_id)]  # type: ignore[arg-type]
        for course, e in dropped_in_sis:
            rows[(course.sis_course_id, e.user.sis_user_id)]["status"] = "deleted"  # type: ignore[index]
        reinstated = rng.sample(dropped_students, min(len(dropped_students), max(1, count // 3)))
        for course, e in reinstated:
            rows[(course.sis_course_id, e.user.sis_user_id)]["status"] = "active"  # type: ignore[index]
        missing: list[Key] = []
        sis_courses = [c for c in inst.courses if c.sis_course_id and c.workflow_state == "available"]
        students = sorted(
            {e.user.id: e.user for c, e in live_students + dropped_students}.values(), key=lambda u: u.id
        )
        enrolled = set(lms_statuses(inst))
        while len(missing) < count and sis_courses and students:
            course = sis_courses[rng.randrange(len(sis_courses))]
            user = students[rng.randrange(len(students))]
            key = (course.sis_course_id, user.sis_user_id)
            if key in enrolled or key in rows:
                continue
            section = course.sections[rng.randrange(len(course.sections))]
            rows[key] = {  # type: ignore[index]
                "course_id": key[0],
                "user_id": key[1],
                "role": "student",
                "section_id": section.sis_section_id or "",
                "status": "active",
            }
            missing.append(key)  # type: ignore[arg-type]
        planted = {
            "missing_in_lms": set(missing),
            "extra_in_lms": {(c.sis_course_id, e.user.sis_user_id) for c, e in extra},
            "state_mismatch": {(c.sis_course_id, e.user.sis_user_id) for c, e in dropped_in_sis + reinstated},
        }
        ordered = sorted(rows.values(), key=lambda r: (r["course_id"], r["role"], r["user_id"]))
        return ordered, planted  # type: ignore[return-value]

    def differences(self) -> dict[str, set[Key]]:
        """What an enrolment audit of this roster against Canvas as it is now must find.

        Returns:
            `missing_in_lms` (in the SIS, not deleted there, no Canvas enrollment), `extra_in_lms`
            (a Canvas enrollment not deleted, absent from the SIS) and `state_mismatch` (both sides
            have it with different statuses), keyed by (SIS course id, SIS user id).
        """
        with self.inst.lock:
            lms = lms_statuses(self.inst)
        sis = {(r["course_id"], r["user_id"]): r["status"] for r in self.rows}
        return {
            "missing_in_lms": {k for k, status in sis.items() if status != "deleted" and k not in lms},
            "extra_in_lms": {k for k, status in lms.items() if status != "deleted" and k not in sis},
            "state_mismatch": {k for k, status in sis.items() if k in lms and lms[k] != status},
        }

    def write(self, path: Path) -> Path:
        """Write the roster as a UTF-8 CSV with a header row; returns `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=ROSTER_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)
        return path
