"""The SIS roster the Brightspace sandbox came from, keyed by course offering code and OrgDefinedId.

The same columns as the Canvas sandbox's roster (an SIS enrollments file): `course_id` is the course
offering's Code (e.g. `HIST101_S25`), `user_id` the user's OrgDefinedId, `role` student /
instructor / ta, `section_id` the student's section Code, `status` `active` (offerings of the
running semester) or `completed` (past semesters). Users without an OrgDefinedId are left out.

Brightspace enrollments have no state: a user is enrolled or not. So the audit reads an SIS row
with status `deleted` and a Brightspace enrollment as a state mismatch, any other SIS row without an
enrollment as missing in the LMS, and an enrollment without an SIS row as extra in the LMS.
Planted deterministically from (size, seed), each at least 3 and about 1% of student enrollments;
the roster is fixed when built and `differences()` compares it with Brightspace as it is now.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from .institution import INSTRUCTOR, SANDBOX_START, STUDENT, TA, Course, Institution

ROSTER_COLUMNS = ("course_id", "user_id", "role", "section_id", "status")
ROLES = {STUDENT.id: "student", INSTRUCTOR.id: "instructor", TA.id: "ta"}
Key = tuple[str, str]  # (course offering code, OrgDefinedId)


def lms_keys(inst: Institution) -> set[Key]:
    """Brightspace's current enrollments with an OrgDefinedId, as (offering code, OrgDefinedId)."""
    out = set()
    for ou in inst.course_ids:
        course = inst.courses[ou]
        for uid, e in course.enrollments.items():
            org_defined_id = inst.users[uid].org_defined_id
            if org_defined_id and e.role.id in ROLES:
                out.add((course.ou.code, org_defined_id))
    return out


class SisRoster:
    """The roster rows (fixed at construction) and the differences planted in them."""

    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        with inst.lock:
            self.rows, self.planted = self._build()

    def _build(self) -> tuple[list[dict[str, str]], dict[str, set[Key]]]:
        inst = self.inst
        rng = random.Random(f"{inst.seed_key}:sis-roster")
        rows: dict[Key, dict[str, str]] = {}
        students: list[Key] = []
        for ou in inst.course_ids:
            course: Course = inst.courses[ou]
            status = "completed" if course.term_end < SANDBOX_START else "active"
            sections = {s.id: s.code for s in course.sections}
            for uid in sorted(course.enrollments):
                e = course.enrollments[uid]
                org_defined_id = inst.users[uid].org_defined_id
                if not org_defined_id or e.role.id not in ROLES:
                    continue
                key = (course.ou.code, org_defined_id)
                rows[key] = {
                    "course_id": key[0],
                    "user_id": key[1],
                    "role": ROLES[e.role.id],
                    "section_id": sections.get(e.section_id, "") if e.section_id else "",
                    "status": status,
                }
                if e.role is STUDENT:
                    students.append(key)
        count = max(3, round(0.01 * len(students)))
        picked = rng.sample(students, min(len(students), 2 * count))
        extra, dropped_in_sis = picked[:count], picked[count:]
        for key in extra:
            del rows[key]
        for key in dropped_in_sis:
            rows[key]["status"] = "deleted"
        enrolled = lms_keys(inst)
        current = [inst.courses[ou] for ou in inst.course_ids if inst.courses[ou].term_end >= SANDBOX_START]
        people = sorted(
            {
                inst.users[uid].org_defined_id
                for c in current
                for uid in c.students
                if inst.users[uid].org_defined_id
            }
        )
        missing: list[Key] = []
        while len(missing) < count and current and people:
            course = current[rng.randrange(len(current))]
            key = (course.ou.code, people[rng.randrange(len(people))])  # type: ignore[assignment]
            if key in enrolled or key in rows:
                continue
            section = course.sections[rng.randrange(len(course.sections))]
            rows[key] = {
                "course_id": key[0],
                "user_id": key[1],
                "role": "student",
                "section_id": section.code,
                "status": "active",
            }
            missing.append(key)
        planted = {
            "missing_in_lms": set(missing),
            "extra_in_lms": set(extra),
            "state_mismatch": set(dropped_in_sis),
        }
        ordered = sorted(rows.values(), key=lambda r: (r["course_id"], r["role"], r["user_id"]))
        return ordered, planted

    def differences(self) -> dict[str, set[Key]]:
        """What an enrolment audit of this roster against Brightspace as it is now must find."""
        with self.inst.lock:
            lms = lms_keys(self.inst)
        sis = {(r["course_id"], r["user_id"]): r["status"] for r in self.rows}
        return {
            "missing_in_lms": {k for k, status in sis.items() if status != "deleted" and k not in lms},
            "extra_in_lms": {k for k in lms if k not in sis},
            "state_mismatch": {k for k, status in sis.items() if status == "deleted" and k in lms},
        }

    def write(self, path: Path) -> Path:
        """Write the roster as a UTF-8 CSV with a header row; returns `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=ROSTER_COLUMNS)
            writer.writeheader()
            writer.writerows(self.rows)
        return path
