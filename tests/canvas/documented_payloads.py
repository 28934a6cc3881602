"""Canvas objects written from the Canvas LMS REST API docs ("A <Object> object looks like"): every
documented field, with this project's own values, and a copy with every non-key field null.

Served over loopback by `PayloadServer` (one page per collection), so the real source reads them.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

JSON = dict[str, Any]
TS = "2026-02-03T14:05:00Z"
HOST = "https://school.example.edu"

# keys every row must keep (the rest are nulled in the "null" copy)
KEEP = {"id", "course_id", "user_id", "assignment_id", "assignment_group_id", "type", "enrollment_state"}


def nulled(row: JSON) -> JSON:
    """The row with every field but its keys null (documented fields may all be null on a first load)."""
    return {k: (v if k in KEEP else None) for k, v in row.items()}


def account(i: int) -> JSON:
    return {
        "id": i, "name": "Example University", "uuid": "WvAHhY5FINzq5IyRIJybGeiXyFkG3SqHUPb7jZY5",
        "parent_account_id": None, "root_account_id": None, "default_storage_quota_mb": 500,
        "default_user_storage_quota_mb": 50, "default_group_storage_quota_mb": 50,
        "default_time_zone": "America/Chicago", "sis_account_id": "ROOT", "integration_id": "ROOT-I",
        "sis_import_id": 12, "lti_guid": "ex-guid", "workflow_state": "active", "course_template_id": 77,
    }  # fmt: skip


def term(i: int) -> JSON:
    return {
        "id": i, "sis_term_id": "2026SP", "sis_import_id": 12, "name": "Spring 2026", "start_at": TS,
        "end_at": TS, "workflow_state": "active", "overrides": {"StudentEnrollment": {"start_at": TS}},
        "created_at": TS, "grading_period_group_id": 5, "course_count": 3,
    }  # fmt: skip


def course(i: int) -> JSON:
    return {
        "id": i, "sis_course_id": f"C-{i}", "uuid": "abc", "integration_id": "I-1", "sis_import_id": 12,
        "name": "Biology 101", "course_code": "BIO-101", "original_name": "Bio", "workflow_state": "available",
        "account_id": 1, "root_account_id": 1, "enrollment_term_id": 2, "grading_periods": [{"id": 9}],
        "grading_standard_id": 4, "grade_passback_setting": "nightly_sync", "created_at": TS, "start_at": TS,
        "end_at": TS, "locale": "en", "enrollments": [{"type": "teacher"}], "total_students": 20,
        "calendar": {"ics": f"{HOST}/feeds/calendars/course_abc.ics"}, "default_view": "modules",
        "syllabus_body": "<p>syllabus</p>", "needs_grading_count": 3, "term": {"id": 2, "name": "Spring"},
        "course_progress": {"requirement_count": 10}, "apply_assignment_group_weights": True,
        "permissions": {"create_discussion_topic": True}, "is_public": False, "is_public_to_auth_users": False,
        "public_syllabus": False, "public_syllabus_to_auth": False, "public_description": "Cells.",
        "storage_quota_mb": 5, "storage_quota_used_mb": 1.5, "hide_final_grades": False, "license": "private",
        "allow_student_assignment_edits": False, "allow_wiki_comments": False,
        "allow_student_forum_attachments": False, "open_enrollment": False, "self_enrollment": False,
        "restrict_enrollments_to_course_dates": False, "course_format": "on_campus",
        "access_restricted_by_date": False, "time_zone": "America/Chicago", "blueprint": False,
        "blueprint_restrictions": {"content": True}, "blueprint_restrictions_by_object_type": {"assignment": {}},
        "template": False, "course_color": "#123456", "friendly_name": "Bio", "homeroom_course": False,
        "concluded": False, "teachers": [{"id": 3}], "course_template_id": None,
    }  # fmt: skip


def user(i: int) -> JSON:
    return {
        "id": i, "name": "Ada Example", "sortable_name": "Example, Ada", "last_name": "Example",
        "first_name": "Ada", "short_name": "Ada", "sis_user_id": f"S{i}", "sis_import_id": 12,
        "integration_id": f"U{i}", "login_id": f"ada{i}", "avatar_url": f"{HOST}/a.png", "avatar_state": "approved",
        "enrollments": [{"id": 1}], "email": f"ada{i}@example.edu", "locale": "en", "last_login": TS,
        "time_zone": "America/Chicago", "bio": "hello", "pronouns": "she/her", "created_at": TS,
        "effective_locale": "en", "permissions": {"can_update_name": True}, "uuid": "u-uuid",
    }  # fmt: skip


def section(i: int, course_id: int) -> JSON:
    return {
        "id": i, "name": "Section 1", "sis_section_id": "SEC-1", "integration_id": "SI-1", "sis_import_id": 12,
        "course_id": course_id, "sis_course_id": f"C-{course_id}", "start_at": TS, "end_at": TS,
        "restrict_enrollments_to_section_dates": False, "nonxlist_course_id": None, "total_students": 20,
        "created_at": TS,
    }  # fmt: skip


def grades() -> JSON:
    return {
        "html_url": f"{HOST}/courses/1/grades/7", "current_grade": "B", "final_grade": "C",
        "current_score": 85.5, "final_score": 71.25, "current_points": 171.0, "unposted_current_grade": "B",
        "unposted_final_grade": "C", "unposted_current_score": 85.5, "unposted_final_score": 71.25,
        "unposted_current_points": 171.0, "override_grade": "A-", "override_score": 90.0,
    }  # fmt: skip


def enrollment(i: int, course_id: int, user_id: int) -> JSON:
    return {
        "id": i, "course_id": course_id, "sis_course_id": f"C-{course_id}", "course_integration_id": "I-1",
        "course_section_id": 11, "section_integration_id": "SI-1", "sis_account_id": "ROOT",
        "sis_section_id": "SEC-1", "sis_user_id": f"S{user_id}", "enrollment_state": "active",
        "limit_privileges_to_course_section": False, "sis_import_id": 12, "root_account_id": 1,
        "type": "StudentEnrollment", "user_id": user_id, "associated_user_id": None, "role": "StudentEnrollment",
        "role_id": 3, "created_at": TS, "updated_at": TS, "start_at": TS, "end_at": TS, "last_activity_at": TS,
        "last_attended_at": TS, "total_activity_time": 260, "html_url": f"{HOST}/courses/1/users/7",
        "grades": grades(), "user": {"id": user_id, "name": "Ada"}, "override_grade": "A-",
        "override_score": 90.0, "unposted_current_grade": "B", "unposted_final_grade": "C",
        "unposted_current_score": 85.5, "unposted_final_score": 71.25, "has_grading_periods": True,
        "totals_for_all_grading_periods_option": True, "current_grading_period_title": "Q1",
        "current_grading_period_id": 9, "current_period_override_grade": "A",
        "current_period_override_score": 95.0, "current_period_unposted_current_score": 80.0,
        "current_period_unposted_final_score": 60.0, "current_period_unposted_current_grade": "B-",
        "current_period_unposted_final_grade": "D",
    }  # fmt: skip


def assignment_group(i: int) -> JSON:
    return {
        "id": i, "name": "Homework", "position": 1, "group_weight": 40.0, "sis_source_id": "AG-1",
        "integration_data": {"a": "b"}, "rules": {"drop_lowest": 1, "drop_highest": 0, "never_drop": [21]},
        "any_assignment_in_closed_grading_period": False,
    }  # fmt: skip


def assignment(i: int, course_id: int, group_id: int) -> JSON:
    row: JSON = {
        "id": i, "name": "HW 1", "description": "<p>do</p>", "created_at": TS, "updated_at": TS, "due_at": TS,
        "lock_at": TS, "unlock_at": TS, "has_overrides": False, "all_dates": [{"due_at": TS}],
        "course_id": course_id, "html_url": f"{HOST}/courses/1/assignments/{i}",
        "submissions_download_url": f"{HOST}/zip", "assignment_group_id": group_id, "due_date_required": False,
        "allowed_extensions": ["pdf"], "max_name_length": 255, "turnitin_enabled": False,
        "vericite_enabled": False, "turnitin_settings": {"a": 1}, "grade_group_students_individually": False,
        "external_tool_tag_attributes": {"url": "x"}, "peer_reviews": False, "automatic_peer_reviews": False,
        "peer_review_count": 0, "peer_reviews_assign_at": TS, "intra_group_peer_reviews": False,
        "group_category_id": 1, "needs_grading_count": 2, "needs_grading_count_by_section": [{"n": 1}],
        "position": 1, "post_to_sis": False, "integration_id": "A-1", "integration_data": {"k": "v"},
        "points_possible": 10.0, "submission_types": ["online_upload"], "has_submitted_submissions": True,
        "grading_type": "points", "grading_standard_id": None, "published": True, "unpublishable": False,
        "only_visible_to_overrides": False, "locked_for_user": False, "lock_info": {"asset_string": "a"},
        "lock_explanation": "locked", "quiz_id": 5, "anonymous_submissions": False, "discussion_topic": {"id": 1},
        "freeze_on_copy": False, "frozen": False, "frozen_attributes": ["title"], "submission": {"id": 1},
        "use_rubric_for_grading": False, "rubric_settings": {"points_possible": 10}, "rubric": [{"id": "r"}],
        "assignment_visibility": [7], "overrides": [{"id": 1}], "omit_from_final_grade": False,
        "hide_in_gradebook": False, "moderated_grading": False, "grader_count": 1, "final_grader_id": 3,
        "grader_comments_visible_to_graders": True, "graders_anonymous_to_graders": False,
        "grader_names_visible_to_final_grader": True, "anonymous_grading": False, "allowed_attempts": -1,
        "post_manually": False, "score_statistics": {"min": 1}, "can_submit": True, "ab_guid": ["g"],
        "annotatable_attachment_id": 8, "anonymize_students": False, "require_lockdown_browser": False,
        "important_dates": False, "muted": False, "anonymous_peer_reviews": False,
        "anonymous_instructor_annotations": False, "graded_submissions_exist": True,
        "is_quiz_assignment": False, "in_closed_grading_period": False, "can_duplicate": True,
        "original_course_id": 2, "original_assignment_id": 3, "original_lti_resource_link_id": 4,
        "original_assignment_name": "Old", "original_quiz_id": 6, "workflow_state": "published",
        "sis_assignment_id": "SA-1", "restrict_quantitative_data": False,
    }  # fmt: skip
    return row


def submission(assignment_id: int, user_id: int, i: int) -> JSON:
    return {
        "id": i, "assignment_id": assignment_id, "attempt": 1, "body": "text", "grade": "8",
        "grade_matches_current_submission": True, "html_url": f"{HOST}/s/{i}", "preview_url": f"{HOST}/p/{i}",
        "score": 8.0, "submission_type": "online_upload", "submitted_at": TS, "url": None, "user_id": user_id,
        "grader_id": 3, "graded_at": TS, "late": True, "assignment_visible": True, "excused": False,
        "missing": False, "late_policy_status": "late", "points_deducted": 1.5, "seconds_late": 3600,
        "workflow_state": "graded", "extra_attempts": 1, "anonymous_id": "xYz12", "posted_at": TS,
        "read_status": "read", "redo_request": False, "cached_due_date": TS, "entered_grade": "9.5",
        "entered_score": 9.5, "grading_period_id": 9, "custom_grade_status_id": 1, "sticker": None,
    }  # fmt: skip


def period_set() -> JSON:
    return {
        "id": 5, "title": "Spring", "weighted": True, "display_totals_for_all_grading_periods": True,
        "workflow_state": "active", "created_at": TS, "updated_at": TS, "enrollment_term_ids": [2],
        "grading_periods": [
            {"id": 9, "title": "Q1", "start_date": TS, "end_date": TS, "close_date": TS, "weight": 40.0,
             "is_closed": True, "is_last": False},
            {"id": 10, "title": "Q2", "start_date": None, "end_date": None, "close_date": None, "weight": None,
             "is_closed": None, "is_last": None},
        ],
    }  # fmt: skip


def late_policy(course_id: int) -> JSON:
    return {
        "id": 40 + course_id, "course_id": course_id, "missing_submission_deduction_enabled": True,
        "missing_submission_deduction": 50.0, "late_submission_deduction_enabled": True,
        "late_submission_deduction": 10.0, "late_submission_interval": "day",
        "late_submission_minimum_percent_enabled": False, "late_submission_minimum_percent": 0.0,
        "created_at": TS, "updated_at": TS,
    }  # fmt: skip


class Catalog:
    """The collections served: two courses, the second with every non-key field null."""

    def __init__(self, *, drop_key: tuple[str, str] | None = None, nulls_only: bool = False) -> None:
        self.nulls_only = nulls_only
        self.courses = [course(1), nulled(course(2)) | {"enrollment_term_id": 2}]
        self.users = [user(7), nulled(user(8))]
        self.routes: list[tuple[str, Callable[[re.Match[str]], Any]]] = [
            (r"/api/v1/accounts/self$", lambda m: account(1)),
            (r"/api/v1/accounts/1/sub_accounts$", lambda m: [nulled(account(2))]),
            (r"/api/v1/accounts/self/terms$", lambda m: {"enrollment_terms": [term(2), nulled(term(3))]}),
            (r"/api/v1/accounts/self/courses$", lambda m: self.courses),
            (r"/api/v1/accounts/self/users$", lambda m: self.users),
            (r"/api/v1/accounts/self/grading_period_sets$", lambda m: {"grading_period_sets": [period_set()]}),
            (r"/api/v1/courses/(\d+)/sections$", lambda m: [section(11, int(m[1])), nulled(section(12, int(m[1])))]),
            (r"/api/v1/courses/(\d+)/enrollments$", self.enrollments),
            (r"/api/v1/courses/(\d+)/assignment_groups$", lambda m: [assignment_group(31), nulled(assignment_group(32))]),
            (r"/api/v1/courses/(\d+)/assignments$", lambda m: self.assignments(int(m[1]))),
            (r"/api/v1/courses/(\d+)/students/submissions$", lambda m: self.submissions(int(m[1]), drop_key)),
            (r"/api/v1/courses/(\d+)/late_policy$", lambda m: {"late_policy": late_policy(int(m[1]))}),
            (r"/api/graphql$", lambda m: {"data": {"account": {"customGradeStatusesConnection": {"nodes": [
                {"_id": "1", "name": "Incomplete", "color": "#E0061F"}]}}}}),
        ]  # fmt: skip

    def enrollments(self, m: re.Match[str]) -> list[JSON]:
        c = int(m[1])
        return [enrollment(100 + c, c, 7), nulled(enrollment(200 + c, c, 8))]

    def assignments(self, c: int) -> list[JSON]:
        return [assignment(20 + c, c, 31), nulled(assignment(40 + c, c, 32)) | {"published": True}]

    def submissions(self, c: int, drop_key: tuple[str, str] | None) -> list[JSON]:
        rows = [submission(20 + c, 7, 500 + c), nulled(submission(40 + c, 8, 600 + c))]
        if drop_key is not None and c == 1:
            bad = submission(20 + c, 8, 700)
            bad.pop(drop_key[0]) if drop_key[1] == "missing" else bad.update({drop_key[0]: drop_key[1]})
            rows.append(bad)
        return rows

    def reply(self, path: str) -> Any:
        for pattern, handler in self.routes:
            match = re.search(pattern, path)
            if match:
                body = handler(match)
                return self._nulls(body) if self.nulls_only else body
        return None

    def _nulls(self, body: Any) -> Any:
        """Every row of a listing with its non-key fields null (a first load of an empty-ish course)."""
        if isinstance(body, list):
            return [nulled(r) if isinstance(r, dict) else r for r in body]
        if isinstance(body, dict) and len(body) == 1:
            key, value = next(iter(body.items()))
            if isinstance(value, list):
                return {key: self._nulls(value)}
            if key == "late_policy":
                return {key: nulled(value)}
        return body


@contextmanager
def payload_server(catalog: Catalog) -> Iterator[str]:
    """Serve the catalog on a loopback port; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self) -> None:
            body = catalog.reply(self.path.split("?")[0])
            data = json.dumps(body if body is not None else {"errors": [{"message": "not found"}]}).encode()
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            self._send()

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
