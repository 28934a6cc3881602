"""Enrollment write routes: create, conclude or delete, reactivate, and bulk enrollment as a Progress
job (docs/canvas-api.md 4.3, 4.11)."""

from __future__ import annotations

from typing import Any

from ..enrollment_writes import (
    EnrollmentWriteError,
    change_state,
    create_from_params,
    enroll_user,
    find_user,
    reactivate,
)
from ..http import NOT_FOUND, ApiError, Ctx, Reply, request_params
from ..model import ROLE_IDS, Course, Enrollment, Section
from ..payloads import enrollment_json
from . import Room

BULK_LIMIT = 500


class EnrollmentWriteRoutes(Room):
    ROUTES = (
        ("POST", "/courses/<course_id>/enrollments", "enrollments_create_in_course"),
        ("POST", "/sections/<section_id>/enrollments", "enrollments_create_in_section"),
        ("DELETE", "/courses/<course_id>/enrollments/<enrollment_id>", "enrollments_destroy"),
        ("PUT", "/courses/<course_id>/enrollments/<enrollment_id>/reactivate", "enrollments_reactivate"),
        ("POST", "/accounts/<account_id>/bulk_enrollment", "bulk_enrollment_create"),
    )

    def _write_enrollment(self, ctx: Ctx, course: Course, section: Section | None) -> Reply:
        params = request_params(ctx.request)
        try:
            result = create_from_params(self.inst, self.jobs.ids, course, section, params, self.inst.clock)
        except EnrollmentWriteError as err:
            raise ApiError(err.status, err.payload) from None
        if result.created:
            self.jobs.api_enrollments.add(result.enrollment.id)
        if result.notified:
            self.jobs.notifications.append((result.enrollment.id, result.enrollment.user.id))
        return self._enrollment_reply(course, result.enrollment)

    def _enrollment_reply(self, course: Course, enrollment: Enrollment) -> Reply:
        grades = self.inst.grades(course) if enrollment.type == "StudentEnrollment" else {}
        return Reply(enrollment_json(enrollment, course, self.inst, grades.get(enrollment.id)))

    def enrollments_create_in_course(self, ctx: Ctx, course_id: str) -> Reply:
        """POST /courses/:id/enrollments (default state invited; a matching enrollment is reused)."""
        return self._write_enrollment(ctx, self.find.course(ctx, course_id), None)

    def enrollments_create_in_section(self, ctx: Ctx, section_id: str) -> Reply:
        """POST /sections/:id/enrollments (enrollment[course_section_id] is ignored)."""
        course, section = self.find.section(ctx, section_id)
        return self._write_enrollment(ctx, course, section)

    def _course_enrollment(self, ctx: Ctx, course_id: str, enrollment_id: str) -> tuple[Course, Enrollment]:
        course = self.find.course(ctx, course_id)
        wanted = int(enrollment_id) if enrollment_id.isdigit() else -1
        enrollment = next((e for e in course.enrollments if e.id == wanted), None)
        if enrollment is None:
            raise ApiError(404, NOT_FOUND)
        return course, enrollment

    def enrollments_destroy(self, ctx: Ctx, course_id: str, enrollment_id: str) -> Reply:
        """DELETE /courses/:id/enrollments/:id?task=conclude|delete|inactivate|deactivate (default conclude)."""
        course, enrollment = self._course_enrollment(ctx, course_id, enrollment_id)
        task = request_params(ctx.request).get("task") or "conclude"
        if task not in ("conclude", "delete", "inactivate", "deactivate"):
            task = "conclude"
        change_state(course, enrollment, task, self.inst.clock)
        return self._enrollment_reply(course, enrollment)

    def enrollments_reactivate(self, ctx: Ctx, course_id: str, enrollment_id: str) -> Reply:
        """PUT /courses/:id/enrollments/:id/reactivate (400 unless the enrollment is inactive)."""
        course, enrollment = self._course_enrollment(ctx, course_id, enrollment_id)
        try:
            reactivate(course, enrollment, self.inst.clock)
        except EnrollmentWriteError as err:
            raise ApiError(err.status, err.payload) from None
        return self._enrollment_reply(course, enrollment)

    def bulk_enrollment_create(self, ctx: Ctx, account_id: str) -> Reply:
        """POST /accounts/:id/bulk_enrollment: enroll user_ids[] in course_ids[]; returns a Progress."""
        account = self.find.account(ctx, account_id)
        params = request_params(ctx.request)
        user_ids = params.getlist("user_ids[]") + params.getlist("user_ids")
        course_ids = params.getlist("course_ids[]") + params.getlist("course_ids")
        if not user_ids or not course_ids:
            raise ApiError(400, {"error": "user_ids and course_ids are required"})
        if len(user_ids) * len(course_ids) > BULK_LIMIT:
            raise ApiError(400, {"error": "Too many users to enroll at once."})
        etype = params.get("enrollment_type") or "StudentEnrollment"
        role_id = params.get("enrollment_role_id")
        if role_id:
            etype = {v: k for k, v in ROLE_IDS.items()}.get(int(role_id) if role_id.isdigit() else -1, "")
        if etype not in ROLE_IDS:
            raise ApiError(400, {"error": "Invalid enrollment type"})
        inst = self.inst

        def run() -> dict[str, Any]:
            done, failed = [], []
            for cid in course_ids:
                course = inst.courses_by_id.get(int(cid)) if cid.isdigit() else None
                for uid in user_ids:
                    user = find_user(inst, uid)
                    if course is None or user is None or course.workflow_state == "completed":
                        failed.append({"course_id": cid, "user_id": uid})
                        continue
                    e, created = enroll_user(
                        inst, self.jobs.ids, course, None, user, etype, "active", inst.clock
                    )
                    if created:
                        self.jobs.api_enrollments.add(e.id)
                    done.append(e.id)
            return {"enrollment_ids": done, "failed": failed}

        progress = self.jobs.new_progress("bulk_enrollment", "Account", account.id, ctx.token.user_id, run)
        return Reply(self.jobs.progress_json(ctx, progress))
