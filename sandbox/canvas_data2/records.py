"""The institution's rows as Canvas Data 2 holds them: one (key, value) per row and table.

Values are the `value` section of a CD2 record (docs/canvas-data-2.md section 8): database columns, not
REST fields. So users carry no SIS id (that is on `pseudonyms`), courses have `conclude_at` and a
`group_weighting_scheme`, assignments a `title` and comma-separated `submission_types`, and scores
sit in their own table. Which rows exist follows the REST sandbox: submissions are the served ones
(published assignment x non-deleted student), so a dropped student's work leaves CD2 as `D` records
while the enrollment itself stays, soft-deleted (`workflow_state = 'deleted'`, section 8).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from ..canvas.analytics import analytics_of
from ..canvas.grades import CourseScores
from ..canvas.institution import Institution
from ..canvas.model import AssignmentGroup, Course, Enrollment, GradingPeriod
from ..canvas.payloads import TIME_ZONE, grade_string, late_policy_json
from ..canvas.timestamps import DAY, iso

Row = tuple[Any, dict[str, Any]]  # (primary key value, value columns)

SCORE_ID_OFFSET = 500_000_000  # scores have their own id sequence; derived from the enrollment id
PERIOD_SCORE_ID_OFFSET = 10_000_000_000  # a grading period's score: enrollment id x periods + index
PERIODS_PER_SET = 100
WEB_LOG_RETENTION_DAYS = 30  # section 10: canvas_logs keeps 30 days


def table_rows(inst: Institution, table: str) -> Iterator[Row]:
    """Every live row of a `canvas` table (call with `inst.lock` held)."""
    yield from _BUILDERS[table](inst)


def _accounts(inst: Institution) -> Iterator[Row]:
    for a in inst.accounts:
        yield (
            a.id,
            {
                "name": a.name,
                "workflow_state": "active",
                "parent_account_id": a.parent_account_id,
                "root_account_id": a.root_account_id,
                "sis_source_id": a.sis_account_id,
                "integration_id": None,
                "uuid": a.uuid,
                "default_time_zone": TIME_ZONE,
                "created_at": iso(a.created_at),
                "updated_at": iso(a.created_at),
            },
        )


def _users(inst: Institution) -> Iterator[Row]:
    for u in inst.users:
        yield (
            u.id,
            {
                "name": u.name,
                "sortable_name": u.sortable_name,
                "short_name": u.short_name,
                "workflow_state": "registered",
                "time_zone": None,
                "locale": None,
                "pronouns": None,
                "created_at": iso(u.created_at),
                "updated_at": iso(u.created_at),
            },
        )


def _pseudonyms(inst: Institution) -> Iterator[Row]:
    # one login per user in the root account; the pseudonym id is the user's id
    for u in inst.users:
        yield (
            u.id,
            {
                "user_id": u.id,
                "account_id": inst.root.id,
                "unique_id": u.login_id,
                "sis_user_id": u.sis_user_id,
                "integration_id": u.integration_id,
                "workflow_state": "active",
                "position": 1,
                "last_login_at": iso(u.last_login),
                "created_at": iso(u.created_at),
                "updated_at": iso(u.created_at),
            },
        )


def _terms(inst: Institution) -> Iterator[Row]:
    groups = {term: g.id for g in inst.grading_period_sets for term in g.term_ids}
    for t in inst.terms:
        yield (
            t.id,
            {
                "name": t.name,
                "root_account_id": inst.root.id,
                "grading_period_group_id": groups.get(t.id),
                "sis_source_id": t.sis_term_id,
                "workflow_state": "active",
                "start_at": iso(t.start_at),
                "end_at": iso(t.end_at),
                "created_at": iso(t.created_at),
                "updated_at": iso(t.created_at),
            },
        )


def _courses(inst: Institution) -> Iterator[Row]:
    for c in inst.courses:
        yield (
            c.id,
            {
                "name": c.name,
                "course_code": c.course_code,
                "account_id": c.account_id,
                "root_account_id": inst.root.id,
                "enrollment_term_id": c.enrollment_term_id,
                "sis_source_id": c.sis_course_id,
                "integration_id": c.integration_id,
                "uuid": c.uuid,
                "workflow_state": c.workflow_state,
                "start_at": iso(c.start_at),
                "conclude_at": iso(c.end_at),
                # Canvas stores apply_assignment_group_weights as this scheme
                "group_weighting_scheme": "percent" if c.apply_assignment_group_weights else "equal",
                "is_public": c.is_public,
                "default_view": c.default_view,
                "time_zone": TIME_ZONE,
                "created_at": iso(c.created_at),
                "updated_at": iso(c.created_at),
            },
        )


def _sections(inst: Institution) -> Iterator[Row]:
    for c in inst.courses:
        for s in c.sections:
            yield (
                s.id,
                {
                    "name": s.name,
                    "course_id": s.course_id,
                    "root_account_id": inst.root.id,
                    "nonxlist_course_id": None,
                    "sis_source_id": s.sis_section_id,
                    "integration_id": s.integration_id,
                    "workflow_state": "active",
                    "default_section": False,
                    "restrict_enrollments_to_section_dates": s.start_at is not None or s.end_at is not None,
                    "start_at": iso(s.start_at),
                    "end_at": iso(s.end_at),
                    "created_at": iso(s.created_at),
                    "updated_at": iso(s.created_at),
                },
            )


def _enrollments(inst: Institution) -> Iterator[Row]:
    for c in inst.courses:
        for e in c.enrollments:
            yield (
                e.id,
                {
                    "user_id": e.user.id,
                    "course_id": c.id,
                    "course_section_id": e.section.id,
                    "root_account_id": inst.root.id,
                    "role_id": e.role_id,
                    "type": e.type,
                    "workflow_state": e.state,
                    "associated_user_id": e.associated_user_id,
                    "limit_privileges_to_course_section": e.limit_privileges_to_course_section,
                    "start_at": None,
                    "end_at": None,
                    "completed_at": None,
                    "last_activity_at": iso(e.last_activity_at),
                    "last_attended_at": iso(e.last_attended_at),
                    "total_activity_time": e.total_activity_time,
                    "created_at": iso(e.created_at),
                    "updated_at": iso(e.updated_at),
                },
            )


def _assignment_groups(inst: Institution) -> Iterator[Row]:
    for c in inst.courses:
        for g in c.groups:
            yield (
                g.id,
                {
                    "name": g.name,
                    "context_id": c.id,
                    "context_type": "Course",
                    "position": g.position,
                    "group_weight": g.group_weight,
                    "rules": _rules(g),
                    "sis_source_id": g.sis_source_id,
                    "workflow_state": "available",
                    "created_at": iso(c.created_at),
                    "updated_at": iso(c.created_at),
                },
            )


def _rules(g: AssignmentGroup) -> dict[str, Any] | None:
    """The group's drop rules, only those set (None: no rules, as Canvas stores it)."""
    rules: dict[str, Any] = {}
    if g.drop_lowest:
        rules["drop_lowest"] = g.drop_lowest
    if g.drop_highest:
        rules["drop_highest"] = g.drop_highest
    if g.never_drop:
        rules["never_drop"] = list(g.never_drop)
    return rules or None


def _assignments(inst: Institution) -> Iterator[Row]:
    for c in inst.courses:
        for a in c.assignments:
            yield (
                a.id,
                {
                    "title": a.name,
                    "description": None,
                    "context_id": a.course_id,
                    "context_type": "Course",
                    "assignment_group_id": a.assignment_group_id,
                    "position": a.position,
                    "points_possible": a.points_possible,
                    "grading_type": a.grading_type,
                    "submission_types": ",".join(a.submission_types),
                    "workflow_state": "published" if a.published else "unpublished",
                    "omit_from_final_grade": a.omit_from_final_grade,
                    "only_visible_to_overrides": False,
                    "anonymous_grading": False,
                    "due_at": iso(a.due_at),
                    "unlock_at": None,
                    "lock_at": None,
                    "created_at": iso(a.created_at),
                    "updated_at": iso(a.updated_at),
                },
            )


def _submissions(inst: Institution) -> Iterator[Row]:
    for c in inst.courses:
        for s in inst.served_submissions(c):
            a = s.assignment
            grade = grade_string(s.score, a)
            posted = s.posted_at is not None
            late = s.seconds_late > 0 or s.late_policy_status == "late"
            events = [t for t in (s.submitted_at, s.graded_at, s.posted_at) if t is not None]
            period = inst.grading_period_of_assignment(a)
            yield (
                s.id,
                {
                    "assignment_id": a.id,
                    "user_id": s.user_id,
                    "course_id": c.id,
                    "attempt": 1 if s.submitted_at is not None else None,
                    "score": s.score,
                    "grade": grade,
                    "published_score": s.score if posted else None,
                    "published_grade": grade if posted else None,
                    "workflow_state": s.workflow_state,
                    "submission_type": s.submission_type,
                    "submitted_at": iso(s.submitted_at),
                    "graded_at": iso(s.graded_at),
                    "posted_at": iso(s.posted_at),
                    "grader_id": s.grader_id,
                    "grading_period_id": period.id if period else None,
                    "excused": s.excused,
                    "late_policy_status": s.late_policy_status,
                    "points_deducted": s.points_deducted,
                    "seconds_late_override": None,
                    "cached_tardiness": "missing" if s.missing else ("late" if late else None),
                    "cached_due_date": iso(a.due_at),
                    "grade_matches_current_submission": True,
                    "custom_grade_status_id": s.custom_grade_status_id,
                    "redo_request": False,
                    "created_at": iso(a.created_at),
                    "updated_at": iso(max(events, default=a.created_at)),
                },
            )


def _scores(inst: Institution) -> Iterator[Row]:
    # Per StudentEnrollment: one course score, and one score per grading period of the course's
    # term. Canvas's Score sets course_score = (grading_period_id and assignment_group_id both
    # null), so a period's score has course_score false (canvas-lms app/models/score.rb,
    # set_course_score). Canvas soft-deletes the scores of a deleted enrollment
    for c in inst.courses:
        grades = inst.grades(c)
        period_set = inst.period_set(c)
        periods = period_set.periods if period_set is not None else []
        for e in c.enrollments:
            if e.type != "StudentEnrollment":
                continue
            scores = grades.get(e.id)
            yield (
                SCORE_ID_OFFSET + e.id,
                _score_value(inst, c, e, None, scores)
                | {
                    # a Final Grade Override (the REST sandbox's override_scores)
                    "override_score": c.override_scores.get(e.id) if scores else None,
                },
            )
            for index, period in enumerate(periods):
                assert index < PERIODS_PER_SET, "more grading periods in a set than score ids allow"
                key = PERIOD_SCORE_ID_OFFSET + e.id * PERIODS_PER_SET + index
                yield key, _score_value(inst, c, e, period, inst.period_scores(c, period, e))


def _score_value(
    inst: Institution, c: Course, e: Enrollment, period: GradingPeriod | None, scores: CourseScores | None
) -> dict[str, Any]:
    """The value of one scores row: the course's (`period` None) or a grading period's."""
    current = inst.current_points(c, e, period) if scores else (None, None)
    return {
        "enrollment_id": e.id,
        "assignment_group_id": None,
        "grading_period_id": period.id if period is not None else None,
        "course_score": period is None,
        "current_score": scores.current_score if scores else None,
        "final_score": scores.final_score if scores else None,
        "unposted_current_score": scores.unposted_current_score if scores else None,
        "unposted_final_score": scores.unposted_final_score if scores else None,
        "current_points": current[0],
        # typed as DAP documents them, left null: REST has no final points to agree with, and
        # every calculator pass costs the sandbox's build (a large institution has ~10^6 rows here)
        "final_points": None,
        "unposted_current_points": current[1],
        "unposted_final_points": None,
        "override_score": None,
        "workflow_state": "active" if scores else "deleted",
        "created_at": iso(e.created_at),
        "updated_at": iso(e.updated_at),
    }


def _late_policies(inst: Institution) -> Iterator[Row]:
    # the REST sandbox serves every course a policy (both deductions off when it has none), so CD2
    # holds one row per course, the same values (section 14.1: no workflow_state)
    for c in inst.courses:
        policy = late_policy_json(c)
        yield policy.pop("id"), policy


def _grading_period_groups(inst: Institution) -> Iterator[Row]:
    for g in inst.grading_period_sets:
        yield (
            g.id,
            {
                "title": g.title,
                "root_account_id": inst.root.id,
                "weighted": g.weighted,
                "display_totals_for_all_grading_periods": g.display_totals_for_all_grading_periods,
                "workflow_state": "active",
                "created_at": iso(g.created_at),
                "updated_at": iso(g.created_at),
            },
        )


def _grading_periods(inst: Institution) -> Iterator[Row]:
    for g in inst.grading_period_sets:
        for p in g.periods:
            yield (
                p.id,
                {
                    "title": p.title,
                    "grading_period_group_id": g.id,
                    "weight": p.weight,
                    "start_date": iso(p.start_date),
                    "end_date": iso(p.end_date),
                    "close_date": iso(p.close_date),
                    "workflow_state": "active",
                    "created_at": iso(g.created_at),
                    "updated_at": iso(g.created_at),
                },
            )


def _custom_grade_statuses(inst: Institution) -> Iterator[Row]:
    for status in inst.custom_grade_statuses:
        yield (
            status.id,
            {
                "name": status.name,
                "color": status.color,
                "root_account_id": inst.root.id,
                "workflow_state": "active",
                "created_at": iso(inst.root.created_at),
                "updated_at": iso(inst.root.created_at),
            },
        )


_BUILDERS = {
    "grading_period_groups": _grading_period_groups,
    "grading_periods": _grading_periods,
    "custom_grade_statuses": _custom_grade_statuses,
    "accounts": _accounts,
    "users": _users,
    "pseudonyms": _pseudonyms,
    "enrollment_terms": _terms,
    "courses": _courses,
    "course_sections": _sections,
    "enrollments": _enrollments,
    "assignment_groups": _assignment_groups,
    "assignments": _assignments,
    "submissions": _submissions,
    "scores": _scores,
    "late_policies": _late_policies,
}


def web_log_rows(inst: Institution) -> Iterator[Row]:
    """Page views of the last 30 days up to the clock, one row per view (call with the lock held)."""
    for key, value, _ in web_log_records(inst):
        yield key, value


def web_log_records(inst: Institution) -> Iterator[tuple[str, dict[str, Any], int]]:
    """(key, value, time of the view) per page view of the last 30 days up to the clock.

    The views and participations are the Canvas sandbox's analytics (analytics.py), so per course,
    student and day the log holds exactly the analytics' counts: each participation is one `POST`
    row with `participated = true`, the other views `GET` rows. A few microseconds a row: a `large`
    institution has millions of them.
    """
    analytics = analytics_of(inst)
    last_day = inst.clock // DAY
    first_day = last_day - WEB_LOG_RETENTION_DAYS + 1
    dates: dict[int, str] = {}
    prefix = f"{inst.size}:{inst.seed}:"
    for course in inst.courses:
        cid = course.id
        common = _web_log_common(cid)
        for user_id, (views, parts) in analytics.daily_activity(course).items():
            for day in sorted(views):
                if not first_day <= day <= last_day:
                    continue
                date = dates.get(day)
                if date is None:
                    date = dates[day] = datetime.fromtimestamp(day * DAY, UTC).strftime("%Y-%m-%dT")
                # a time in the day, never after the clock (today's rows are today's so far)
                span = max(1, min(DAY, inst.clock - day * DAY + 1))
                n_parts = parts.get(day, 0)
                for kind, count in (("p", n_parts), ("v", views[day] - n_parts)):
                    head = f"{prefix}{cid}:{user_id}:{day}:{kind}:"
                    participated = kind == "p"
                    shared = common[participated]
                    for n in range(count):
                        digest = hashlib.blake2b(f"{head}{n}".encode(), digest_size=16).digest()
                        second = int.from_bytes(digest[:4], "big") % span
                        at = day * DAY + second
                        h = digest.hex()
                        key = f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{h[16:20]}-{h[20:32]}"
                        hour, rest = divmod(second, 3600)
                        value = {
                            "timestamp": f"{date}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}Z",
                            "user_id": user_id,
                            **shared,
                            "remote_ip": f"10.{digest[4]}.{digest[5]}.{digest[6]}",
                            "interaction_micros": 1000 * (50 + digest[7]),
                            "web_application_context_type": "Course",
                            "web_application_context_id": cid,
                            "session_id": digest[8:14].hex(),
                            "developer_key_id": None,
                            "participated": participated,
                        }
                        yield key, value, at


def _web_log_common(course_id: int) -> dict[bool, dict[str, Any]]:
    """The columns a course's views (False) and participations (True) share, in column order."""
    return {
        participated: {
            "real_user_id": None,
            "course_id": course_id,
            "quiz_id": None,
            "discussion_id": None,
            "conversation_id": None,
            "assignment_id": None,
            "url": f"/courses/{course_id}" + ("/discussion_topics" if participated else ""),
            "user_agent_id": None,
            "http_method": "POST" if participated else "GET",
            "http_status": "200",
            "http_version": "HTTP/1.1",
            "web_application_controller": "discussion_topics" if participated else "courses",
            "web_application_action": "create" if participated else "show",
        }
        for participated in (False, True)
    }
