"""JSON shapes of Canvas API objects, built from the institution's records on demand."""

from __future__ import annotations

from typing import Any

from .grades import CourseScores
from .institution import Institution
from .model import (
    Account,
    Assignment,
    AssignmentGroup,
    Course,
    Enrollment,
    GradingPeriod,
    GradingPeriodSet,
    Section,
    Submission,
    Term,
    User,
)
from .timestamps import iso

# html_url fields point at a fixed canonical host (like a school's instructure.com domain), so the
# served data is the same whatever port the sandbox runs on. Pagination links use the request host.
HTML_HOST = "https://canvas.sandbox.test"
TIME_ZONE = "America/Chicago"

JSON = dict[str, Any]


def format_number(value: float) -> str:
    """Canvas's round_if_whole: 8.0 -> "8", 8.5 -> "8.5", 12.345 -> "12.35"."""
    rounded = round(value, 2)
    return str(int(rounded)) if rounded == int(rounded) else repr(rounded)


def grade_string(score: float | None, assignment: Assignment) -> str | None:
    """The `grade` text for a score under the assignment's grading type."""
    if score is None:
        return None
    if assignment.grading_type == "percent":
        pct = score / assignment.points_possible * 100 if assignment.points_possible else score
        return f"{format_number(pct)}%"
    return format_number(score)


def account_json(a: Account) -> JSON:
    """An Account."""
    return {
        "id": a.id,
        "name": a.name,
        "workflow_state": "active",
        "parent_account_id": a.parent_account_id,
        "root_account_id": a.root_account_id,
        "uuid": a.uuid,
        "default_storage_quota_mb": 500,
        "default_user_storage_quota_mb": 50,
        "default_group_storage_quota_mb": 50,
        "default_time_zone": TIME_ZONE,
        "sis_account_id": a.sis_account_id,
        "integration_id": None,
        "sis_import_id": None,
    }


def term_json(t: Term, inst: Institution | None = None) -> JSON:
    """An EnrollmentTerm; `grading_period_group_id` names its grading period set."""
    group = next((g.id for g in inst.grading_period_sets if t.id in g.term_ids), None) if inst else None
    return {
        "id": t.id,
        "name": t.name,
        "start_at": iso(t.start_at),
        "end_at": iso(t.end_at),
        "created_at": iso(t.created_at),
        "workflow_state": "active",
        "grading_period_group_id": group,
        "sis_term_id": t.sis_term_id,
        "sis_import_id": None,
    }


def course_json(c: Course, inst: Institution, include_term: bool = False) -> JSON:
    """A Course as account and course endpoints return it."""
    out: JSON = {
        "id": c.id,
        "name": c.name,
        "account_id": c.account_id,
        "uuid": c.uuid,
        "start_at": iso(c.start_at),
        "grading_standard_id": None,
        "is_public": c.is_public,
        "created_at": iso(c.created_at),
        "course_code": c.course_code,
        "default_view": c.default_view,
        "root_account_id": inst.root.id,
        "enrollment_term_id": c.enrollment_term_id,
        "license": "private",
        "grade_passback_setting": None,
        "end_at": iso(c.end_at),
        "public_syllabus": False,
        "public_syllabus_to_auth": False,
        "storage_quota_mb": 500,
        "is_public_to_auth_users": False,
        "homeroom_course": False,
        "course_color": None,
        "friendly_name": None,
        "apply_assignment_group_weights": c.apply_assignment_group_weights,
        "time_zone": TIME_ZONE,
        "blueprint": False,
        "template": False,
        "sis_course_id": c.sis_course_id,
        "sis_import_id": None,
        "integration_id": c.integration_id,
        "hide_final_grades": False,
        "workflow_state": c.workflow_state,
        "restrict_enrollments_to_course_dates": False,
    }
    if include_term:
        t = inst.terms_by_id[c.enrollment_term_id]
        out["term"] = {
            "id": t.id,
            "name": t.name,
            "start_at": iso(t.start_at),
            "end_at": iso(t.end_at),
            "created_at": iso(t.created_at),
            "workflow_state": "active",
            "grading_period_group_id": term_json(t, inst)["grading_period_group_id"],
        }
    return out


def section_json(s: Section, c: Course) -> JSON:
    """A Section."""
    return {
        "id": s.id,
        "course_id": s.course_id,
        "name": s.name,
        "start_at": iso(s.start_at),
        "end_at": iso(s.end_at),
        "created_at": iso(s.created_at),
        "restrict_enrollments_to_section_dates": s.start_at is not None or s.end_at is not None,
        "nonxlist_course_id": None,
        "sis_section_id": s.sis_section_id,
        "sis_course_id": c.sis_course_id,
        "integration_id": s.integration_id,
        "sis_import_id": None,
    }


def user_summary(u: User) -> JSON:
    """The user object embedded in enrollments and submissions."""
    return {
        "id": u.id,
        "name": u.name,
        "created_at": iso(u.created_at),
        "sortable_name": u.sortable_name,
        "short_name": u.short_name,
        "sis_user_id": u.sis_user_id,
        "integration_id": u.integration_id,
        "root_account": "canvas.sandbox.test",
        "login_id": u.login_id,
    }


def user_json(u: User, include: frozenset[str] = frozenset()) -> JSON:
    """A User as /accounts/:id/users lists it; `email`, `last_login` only when included."""
    out = {
        "id": u.id,
        "name": u.name,
        "created_at": iso(u.created_at),
        "sortable_name": u.sortable_name,
        "short_name": u.short_name,
        "sis_user_id": u.sis_user_id,
        "integration_id": u.integration_id,
        "sis_import_id": None,
        "login_id": u.login_id,
    }
    if "email" in include:
        out["email"] = u.email
    if "last_login" in include:
        out["last_login"] = iso(u.last_login)
    return out


def enrollment_json(
    e: Enrollment,
    c: Course,
    inst: Institution,
    scores: CourseScores | None,
    *,
    current_points: bool = False,
    period: GradingPeriod | None = None,
) -> JSON:
    """An Enrollment; StudentEnrollments carry `grades` (letter grades are null: no grading standard).

    `grades` holds the course scores, or one grading period's with `period`. The admin caller sees
    the posted scores and, beside them, `override_score` when a Final Grade Override is set
    (course scores only: docs/grade-calculation.md A.8). `current_points` (include[]=current_points) is
    the points total in a points course and the percentage in a weighted one (A.5).
    """
    s = e.section
    out: JSON = {
        "id": e.id,
        "user_id": e.user.id,
        "course_id": c.id,
        "type": e.type,
        "created_at": iso(e.created_at),
        "updated_at": iso(e.updated_at),
        "associated_user_id": e.associated_user_id,
        "start_at": None,
        "end_at": None,
        "course_section_id": s.id,
        "root_account_id": inst.root.id,
        "limit_privileges_to_course_section": e.limit_privileges_to_course_section,
        "enrollment_state": e.state,
        "role": e.type,
        "role_id": e.role_id,
        "last_activity_at": iso(e.last_activity_at),
        "last_attended_at": iso(e.last_attended_at),
        "total_activity_time": e.total_activity_time,
        "sis_account_id": inst.accounts_by_id[c.account_id].sis_account_id,
        "sis_course_id": c.sis_course_id,
        "course_integration_id": c.integration_id,
        "sis_section_id": s.sis_section_id,
        "section_integration_id": s.integration_id,
        "sis_user_id": e.user.sis_user_id,
        "sis_import_id": None,
        "html_url": f"{HTML_HOST}/courses/{c.id}/users/{e.user.id}",
    }
    if e.type == "StudentEnrollment":
        out["grades"] = {
            "html_url": f"{HTML_HOST}/courses/{c.id}/grades/{e.user.id}",
            "current_grade": None,
            "current_score": scores.current_score if scores else None,
            "final_grade": None,
            "final_score": scores.final_score if scores else None,
            "unposted_current_score": scores.unposted_current_score if scores else None,
            "unposted_current_grade": None,
            "unposted_final_score": scores.unposted_final_score if scores else None,
            "unposted_final_grade": None,
        }
        if current_points:
            points = inst.current_points(c, e, period) if scores else (None, None)
            out["grades"]["current_points"], out["grades"]["unposted_current_points"] = points
        override = c.override_scores.get(e.id) if period is None else None
        if override is not None:
            out["grades"]["override_score"] = override
            out["grades"]["override_grade"] = None
            out["override_score"] = override
            out["override_grade"] = None
    out["user"] = user_summary(e.user)
    return out


def group_json(g: AssignmentGroup, assignments: list[JSON] | None = None) -> JSON:
    """An AssignmentGroup; `rules` lists only the rules that are set."""
    rules: JSON = {}
    if g.drop_lowest:
        rules["drop_lowest"] = g.drop_lowest
    if g.drop_highest:
        rules["drop_highest"] = g.drop_highest
    if g.never_drop:
        rules["never_drop"] = list(g.never_drop)
    out: JSON = {
        "id": g.id,
        "name": g.name,
        "position": g.position,
        "group_weight": g.group_weight,
        "sis_source_id": g.sis_source_id,
        "integration_data": {},
        "rules": rules,
    }
    if assignments is not None:
        out["assignments"] = assignments
    return out


def assignment_json(a: Assignment) -> JSON:
    """An Assignment (admin view: unpublished ones too)."""
    out: JSON = {
        "id": a.id,
        "name": a.name,
        "description": None,
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "due_at": iso(a.due_at),
        "lock_at": None,
        "unlock_at": None,
        "has_overrides": False,
        "all_dates": None,
        "course_id": a.course_id,
        "html_url": f"{HTML_HOST}/courses/{a.course_id}/assignments/{a.id}",
        "submissions_download_url": f"{HTML_HOST}/courses/{a.course_id}/assignments/{a.id}/submissions?zip=1",
        "assignment_group_id": a.assignment_group_id,
        "due_date_required": False,
        "allowed_extensions": [],
        "max_name_length": 255,
        "turnitin_enabled": False,
        "vericite_enabled": False,
        "grade_group_students_individually": False,
        "group_category_id": None,
        "peer_reviews": False,
        "automatic_peer_reviews": False,
        "position": a.position,
        "post_to_sis": False,
        "integration_id": None,
        "integration_data": {},
        "points_possible": a.points_possible,
        "submission_types": list(a.submission_types),
        "grading_type": a.grading_type,
        "grading_standard_id": None,
        "published": a.published,
        "only_visible_to_overrides": False,
        "locked_for_user": False,
        "moderated_grading": False,
        "anonymous_grading": False,
        "omit_from_final_grade": a.omit_from_final_grade,
        "hide_in_gradebook": False,
        "post_manually": a.hidden_grades,
        "workflow_state": "published" if a.published else "unpublished",
        "is_quiz_assignment": a.quiz_id is not None,
    }
    if a.quiz_id is not None:
        out["quiz_id"] = a.quiz_id
    return out


def submission_json(s: Submission, inst: Institution, include: frozenset[str] = frozenset()) -> JSON:
    """A Submission (no course_id: the real object has none); `user`/`assignment` embeds on request."""
    a = s.assignment
    score = s.score
    deducted = s.points_deducted
    entered = None if score is None else (round(score + deducted, 2) if deducted else score)
    base = f"{HTML_HOST}/courses/{a.course_id}/assignments/{a.id}/submissions/{s.user_id}"
    out: JSON = {
        "id": s.id,
        "body": None,
        "url": None,
        "grade": grade_string(score, a),
        "score": score,
        "submitted_at": iso(s.submitted_at),
        "assignment_id": a.id,
        "user_id": s.user_id,
        "submission_type": s.submission_type,
        "workflow_state": s.workflow_state,
        "grade_matches_current_submission": True,
        "graded_at": iso(s.graded_at),
        "grader_id": s.grader_id,
        "attempt": 1 if s.submitted_at is not None else None,
        "cached_due_date": iso(a.due_at),
        "excused": s.excused,
        "late_policy_status": s.late_policy_status,
        "points_deducted": deducted,
        "grading_period_id": period.id if (period := inst.grading_period_of_assignment(a)) else None,
        "extra_attempts": None,
        "posted_at": iso(s.posted_at),
        "redo_request": False,
        "custom_grade_status_id": s.custom_grade_status_id,
        "sticker": None,
        "late": s.seconds_late > 0 or s.late_policy_status == "late",
        "missing": s.missing,
        "seconds_late": s.seconds_late,
        "entered_grade": grade_string(entered, a),
        "entered_score": entered,
        "preview_url": f"{base}?preview=1&version=1",
        "html_url": base,
    }
    if "user" in include:
        out["user"] = user_summary(inst.users_by_id[s.user_id])
    if "assignment" in include:
        out["assignment"] = assignment_json(a)
    return out


def grading_period_json(p: GradingPeriod, now: int) -> JSON:
    """A GradingPeriod (Grading Periods API)."""
    return {
        "id": p.id,
        "title": p.title,
        "start_date": iso(p.start_date),
        "end_date": iso(p.end_date),
        "close_date": iso(p.close_date),
        "weight": p.weight,
        "is_closed": p.close_date < now,
    }


def grading_period_set_json(g: GradingPeriodSet, now: int) -> JSON:
    """A GradingPeriodSet as the account's listing serves it: its terms and periods embedded."""
    return {
        "id": g.id,
        "title": g.title,
        "weighted": g.weighted,
        "display_totals_for_all_grading_periods": g.display_totals_for_all_grading_periods,
        "workflow_state": "active",
        "created_at": iso(g.created_at),
        "updated_at": iso(g.created_at),
        "enrollment_term_ids": list(g.term_ids),
        "grading_periods": [grading_period_json(p, now) for p in g.periods],
    }


def late_policy_json(c: Course) -> JSON:
    """The course's LatePolicy (Late Policy API); a course without one gets both deductions off.

    The generator's policy: `late_policy_pct` of the points per late day, and missing work scored at
    `missing_policy_pct` of the points (a deduction of the rest).
    """
    return {
        "id": c.id,
        "course_id": c.id,
        "missing_submission_deduction_enabled": c.missing_policy_pct is not None,
        "missing_submission_deduction": round(100 - 100 * (c.missing_policy_pct or 0.0), 2),
        "late_submission_deduction_enabled": bool(c.late_policy_pct),
        "late_submission_deduction": round(100 * c.late_policy_pct, 2),
        "late_submission_interval": "day",
        "late_submission_minimum_percent_enabled": False,
        "late_submission_minimum_percent": 0.0,
        "created_at": iso(c.created_at),
        "updated_at": iso(c.created_at),
    }
