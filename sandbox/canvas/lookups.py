"""The account, course or section a request names, found and checked against the caller's rights."""

from __future__ import annotations

from .http import NOT_FOUND, UNAUTHORIZED, ApiError, Ctx, int_or_404
from .institution import Institution
from .model import Account, Course, Section


class Lookups:
    """Resolves path identifiers (`self`, numeric ids, `sis_*_id:` forms) to institution objects.

    A missing object is 404; a non-admin caller, or a course in `forbidden_courses` (a test's way to
    revoke access to one course), is 401 as Canvas answers.
    """

    def __init__(self, inst: Institution) -> None:
        self.inst = inst
        self.forbidden_courses: set[int] = set()

    def account(self, ctx: Ctx, ident: str) -> Account:
        inst = self.inst
        if ident in ("self", "default"):
            account = inst.root
        elif ident.startswith("sis_account_id:"):
            sis = ident.split(":", 1)[1]
            account = next((a for a in inst.accounts if a.sis_account_id == sis), None)  # type: ignore[assignment]
        else:
            account = inst.accounts_by_id.get(int_or_404(ident))  # type: ignore[assignment]
        if account is None:
            raise ApiError(404, NOT_FOUND)
        if not ctx.token.admin:
            raise ApiError(401, UNAUTHORIZED)
        return account

    def course(self, ctx: Ctx, ident: str) -> Course:
        inst = self.inst
        if ident.startswith("sis_course_id:"):
            course = inst.courses_by_sis.get(ident.split(":", 1)[1])
        else:
            course = inst.courses_by_id.get(int_or_404(ident))
        if course is None:
            raise ApiError(404, NOT_FOUND)
        if not ctx.token.admin or course.id in self.forbidden_courses:
            raise ApiError(401, UNAUTHORIZED)
        return course

    def section(self, ctx: Ctx, ident: str) -> tuple[Course, Section]:
        inst = self.inst
        if ident.startswith("sis_section_id:"):
            section_id = inst.sections_by_sis.get(ident.split(":", 1)[1], -1)
        else:
            section_id = int_or_404(ident)
        found = inst.sections_by_id.get(section_id)
        if found is None:
            raise ApiError(404, NOT_FOUND)
        course, section = found
        if not ctx.token.admin or course.id in self.forbidden_courses:
            raise ApiError(401, UNAUTHORIZED)
        return course, section
