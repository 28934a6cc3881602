"""Enrollment writes as Canvas makes them: create (reusing a matching enrollment), conclude, delete,
inactivate and reactivate (docs/canvas-api.md section 4.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .institution import Institution, expects_submission
from .jobs import IdAllocator
from .model import ROLE_IDS, Course, Enrollment, Section, Submission, User

ROLES_BY_ID = {role_id: name for name, role_id in ROLE_IDS.items()}
CREATE_STATES = ("active", "invited", "inactive")

# EnrollmentsApiController's error texts.
NO_PARAMETERS = "No parameters given"
MISSING_USER = (
    "Can't create an enrollment without a user. Include enrollment[user_id] to create an enrollment"
)
BAD_TYPE = "Invalid type"
BAD_ROLE = "Invalid role"
TYPE_MISMATCH = "The specified type must match the base type for the role"
CONCLUDED_COURSE = "Can't add an enrollment to a concluded course."


class EnrollmentWriteError(Exception):
    """A refused write: HTTP status plus the JSON body Canvas sends."""

    def __init__(self, status: int, payload: object) -> None:
        super().__init__(status)
        self.status = status
        self.payload = payload


NOT_FOUND_PAYLOAD = {"errors": [{"message": "The specified resource does not exist."}]}


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "t", "yes", "y", "on")


def find_user(inst: Institution, ident: str) -> User | None:
    """A user by Canvas id or `sis_user_id:` / `sis_login_id:` (api_find)."""
    if ident.startswith("sis_user_id:"):
        sis = ident.split(":", 1)[1]
        return next((u for u in inst.users if u.sis_user_id == sis), None)
    if ident.startswith("sis_login_id:"):
        login = ident.split(":", 1)[1].lower()
        return next((u for u in inst.users if u.login_id == login), None)
    return inst.users_by_id.get(int(ident)) if ident.isdigit() else None


def default_section(inst: Institution, ids: IdAllocator, course: Course, now: int) -> Section:
    """Where a course-level enrollment lands: the course's first section (one is made if it has none).

    Canvas keeps a flagged default section; the sandbox has no such flag, so the first section
    stands in for it.
    """
    if course.sections:
        return course.sections[0]
    section = Section(ids.next("section"), course.id, course.name, None, None, None, None, now)
    course.sections.append(section)
    inst.sections_by_id[section.id] = (course, section)
    return section


def add_placeholders(inst: Institution, ids: IdAllocator, course: Course, user_id: int) -> None:
    """Give a newly enrolled student the unsubmitted rows Canvas creates for published assignments."""
    have = {s.assignment.id for s in course.submissions if s.user_id == user_id}
    for a in course.assignments:
        if not a.published or a.id in have:
            continue
        missing = a.due_at is not None and a.due_at < inst.clock and expects_submission(a)
        course.submissions.append(
            Submission(
                ids.next_submission(),
                a,
                user_id,
                "unsubmitted",
                None,
                None,
                None,
                None,
                None,
                None,
                False,
                missing,
                None,
                0,
                None,
            )
        )


def enroll_user(
    inst: Institution,
    ids: IdAllocator,
    course: Course,
    section: Section | None,
    user: User,
    etype: str,
    state: str | None,
    now: int,
    *,
    associated_user_id: int | None = None,
    limit_privileges: bool | None = None,
) -> tuple[Enrollment, bool]:
    """Course#enroll_user with allow_multiple_enrollments: reuse a matching enrollment or make one.

    A match has the same user, type, associated user and section. A reused enrollment that was
    completed, rejected or deleted, or whose state differs from the one asked for, takes the new
    state (default `invited`); otherwise it is returned unchanged.

    Returns:
        The enrollment and whether it was newly created.
    """
    section = section or default_section(inst, ids, course, now)
    for e in course.enrollments:
        if (
            e.user.id == user.id
            and e.type == etype
            and e.section.id == section.id
            and e.associated_user_id == associated_user_id
        ):
            if e.state in ("completed", "rejected", "deleted") or (state is not None and e.state != state):
                was_live = e.state != "deleted"
                e.state = state or "invited"
                e.updated_at = now
                if etype == "StudentEnrollment" and not was_live:
                    add_placeholders(inst, ids, course, user.id)
                course.invalidate()
            if limit_privileges is not None:
                e.limit_privileges_to_course_section = limit_privileges
            return e, False
    enrollment = Enrollment(
        id=ids.next("enrollment"),
        course_id=course.id,
        section=section,
        user=user,
        type=etype,
        state=state or "invited",
        created_at=now,
        updated_at=now,
        last_activity_at=None,
        last_attended_at=None,
        total_activity_time=0,
        limit_privileges_to_course_section=bool(limit_privileges),
        associated_user_id=associated_user_id,
    )
    course.enrollments.append(enrollment)
    if etype == "StudentEnrollment":
        add_placeholders(inst, ids, course, user.id)
    course.invalidate()
    return enrollment, True


@dataclass
class CreateResult:
    """What POST .../enrollments did."""

    enrollment: Enrollment
    created: bool
    notified: bool


def create_from_params(
    inst: Institution,
    ids: IdAllocator,
    course: Course,
    section: Section | None,
    params: Mapping[str, str],
    now: int,
) -> CreateResult:
    """POST /courses/:id/enrollments or /sections/:id/enrollments with `enrollment[...]` params.

    Raises:
        EnrollmentWriteError: 400 with `{"message": ...}` for bad parameters or a concluded course,
            404 for an unknown user or section.
    """
    e = {
        k[len("enrollment[") : -1]: v
        for k, v in params.items()
        if k.startswith("enrollment[") and k.endswith("]")
    }
    errors: list[str] = []
    etype = e.get("type") or None
    if not e:
        errors.append(NO_PARAMETERS)
    else:
        role: str | None
        if e.get("role_id"):
            role = ROLES_BY_ID.get(int(e["role_id"])) if e["role_id"].isdigit() else None
        elif e.get("role"):
            role = e["role"] if e["role"] in ROLE_IDS else None
        else:
            etype = etype or "StudentEnrollment"
            role = etype if etype in ROLE_IDS else None
            if role is None:
                errors.append(BAD_TYPE)
        if role is not None:
            etype = etype or role
            if etype != role:
                errors.append(TYPE_MISMATCH)
        elif not errors:
            errors.append(BAD_ROLE)
        if not e.get("user_id"):
            errors.append(MISSING_USER)
    if errors:
        raise EnrollmentWriteError(400, {"message": ", ".join(errors)})
    assert etype is not None
    if section is None and e.get("course_section_id"):
        raw = e["course_section_id"]
        if raw.startswith("sis_section_id:"):
            sis = raw.split(":", 1)[1]
            section = next((s for s in course.sections if s.sis_section_id == sis), None)
        else:
            section = next((s for s in course.sections if raw.isdigit() and s.id == int(raw)), None)
        if section is None:
            raise EnrollmentWriteError(404, NOT_FOUND_PAYLOAD)
    user = find_user(inst, e["user_id"])
    if user is None:
        raise EnrollmentWriteError(404, NOT_FOUND_PAYLOAD)
    # a concluded course only takes users already in it, moved to an explicit section
    if course.workflow_state == "completed" and not (
        section is not None and any(x.user.id == user.id for x in course.enrollments)
    ):
        raise EnrollmentWriteError(400, {"message": CONCLUDED_COURSE})
    state = e.get("enrollment_state")
    if state not in CREATE_STATES:
        state = None
    associated = e.get("associated_user_id")
    limit = e.get("limit_privileges_to_course_section")
    enrollment, created = enroll_user(
        inst,
        ids,
        course,
        section,
        user,
        etype,
        state,
        now,
        associated_user_id=int(associated) if associated and associated.isdigit() else None,
        limit_privileges=_flag(limit) if limit is not None else None,
    )
    return CreateResult(enrollment, created, _flag(e.get("notify")))


def change_state(course: Course, enrollment: Enrollment, task: str | None, now: int) -> None:
    """DELETE /courses/:id/enrollments/:id?task=conclude|delete|inactivate|deactivate (default conclude)."""
    if task == "delete":
        enrollment.state = "deleted"
    elif task in ("inactivate", "deactivate"):
        enrollment.state = "inactive"
    else:
        enrollment.state = "completed"
    enrollment.updated_at = now
    course.invalidate()


def reactivate(course: Course, enrollment: Enrollment, now: int) -> None:
    """PUT /courses/:id/enrollments/:id/reactivate: only an inactive enrollment can be reactivated.

    Raises:
        EnrollmentWriteError: 400 `{"error": "enrollment not inactive"}` for any other state.
    """
    if enrollment.state != "inactive":
        raise EnrollmentWriteError(400, {"error": "enrollment not inactive"})
    enrollment.state = "active"
    enrollment.updated_at = now
    course.invalidate()
