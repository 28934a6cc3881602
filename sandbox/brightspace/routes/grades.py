"""Grade objects, categories, schemes, grade values, final grades, exemptions and content progress
(le routes; docs/brightspace-api.md)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .. import shapes
from ..content import DEFAULT_PAGE_SIZE as CONTENT_PAGE_SIZE
from ..content import course_progress
from ..gradebook import Gradebook
from ..http import ApiError, Json, flag_param, int_param, json_response
from ..pagination import BadRequest, object_list_page, page_size_param
from ..timestamps import parse_utc
from . import ValenceRoom


class GradeRoutes(ValenceRoom):
    """The gradebook (grade objects and values, final grades, exemptions) and content progress."""

    # -- grades (le) -----------------------------------------------------------------------

    def on_grade_objects(self, request: Request, ou: int) -> Response:
        """{ou}/grades/: bare array of GradeObject."""
        _, book = self._book(ou)
        return json_response([shapes.grade_object(book, item) for item in book.items])

    def on_grade_object(self, request: Request, ou: int, go: int) -> Response:
        """{ou}/grades/{gradeObjectId}."""
        _, book = self._book(ou)
        if go not in book.item_pos:
            raise ApiError(404, f"grade object {go} not found in {ou}")
        return json_response(shapes.grade_object(book, book.items[book.item_pos[go]]))

    def on_grade_categories(self, request: Request, ou: int) -> Response:
        """{ou}/grades/categories/: bare array of GradeObjectCategory."""
        _, book = self._book(ou)
        return json_response([shapes.grade_category(book, c) for c in book.categories])

    def on_grade_category(self, request: Request, ou: int, cat: int) -> Response:
        """{ou}/grades/categories/{categoryId}."""
        _, book = self._book(ou)
        for category in book.categories:
            if category.id == cat:
                return json_response(shapes.grade_category(book, category))
        raise ApiError(404, f"grade category {cat} not found in {ou}")

    def on_grade_setup(self, request: Request, ou: int) -> Response:
        """{ou}/grades/setup/: GradeSetupInfo."""
        _, book = self._book(ou)
        return json_response(shapes.grade_setup(book))

    def on_grade_schemes(self, request: Request, ou: int) -> Response:
        """{ou}/grades/schemes/: bare array of GradeScheme."""
        self._course(ou)
        return json_response([shapes.GRADE_SCHEME])

    def on_grade_scheme(self, request: Request, ou: int, scheme: int) -> Response:
        """{ou}/grades/schemes/{schemeId}."""
        self._course(ou)
        if scheme != shapes.GRADE_SCHEME["Id"]:
            raise ApiError(404, f"grade scheme {scheme} not found")
        return json_response(shapes.GRADE_SCHEME)

    def _item_index(self, book: Gradebook, go: int) -> int:
        k = book.item_pos.get(go)
        if k is None:
            raise ApiError(404, f"grade object {go} not found in {book.ou}")
        return k

    def on_grade_object_values(self, request: Request, ou: int, go: int) -> Response:
        """{ou}/grades/{gradeObjectId}/values/: ObjectListPage of UserGradeValue (GradeValue null if none)."""
        _, book = self._book(ou)
        k = self._item_index(book, go)
        graded = flag_param(request.args.get("isGraded"))
        start = self._after(list(book.students), request.args.get("bookmark"))

        def entries() -> Iterator[tuple[str, int]]:
            for s in range(start, len(book.students)):
                if book.enrolled[s] and (graded is None or book.has_value(k, s) == graded):
                    yield str(book.students[s]), s

        def render(s: int) -> Json:
            value = shapes.grade_value(book, k, s, bulk=False) if book.has_value(k, s) else None
            return shapes.user_grade_value(self.inst.users[book.students[s]], value)

        return self._object_list(request, entries(), render)

    def on_grade_object_value(self, request: Request, ou: int, go: int, uid: int) -> Response:
        """{ou}/grades/{gradeObjectId}/values/{userId}: one GradeValue."""
        _, book = self._book(ou)
        k = self._item_index(book, go)
        s = book.student_pos.get(uid)
        if s is None or not book.has_value(k, s):
            raise ApiError(404, f"no grade value for user {uid} on {go}")
        return json_response(shapes.grade_value(book, k, s, bulk=False))

    @staticmethod
    def _bulk_entries(
        book: Gradebook, type_id: int | None, since: float | None, after: tuple[int, ...] | None
    ) -> Iterator[tuple[str, tuple[Gradebook, int, int]]]:
        for k, item in enumerate(book.items):
            if (type_id is not None and item.type_id != type_id) or (
                after is not None and item.id < after[0]
            ):
                continue
            first = bisect_right(book.students, after[1]) if after is not None and item.id == after[0] else 0
            states, modified = book.state[k], book.modified[k]
            for s in range(first, len(book.students)):
                if states[s] and book.enrolled[s] and (since is None or modified[s] >= since):
                    yield f"{item.id}_{book.students[s]}", (book, k, s)

    @staticmethod
    def _bulk_filters(request: Request) -> tuple[int | None, float | None]:
        type_id = int_param(request.args.get("gradeObjectTypeId"), "gradeObjectTypeId")
        since_text = request.args.get("modifiedSince")
        try:
            since = parse_utc(since_text) if since_text else None
        except ValueError as exc:
            raise BadRequest(str(exc)) from exc
        return type_id, since

    @staticmethod
    def _bookmark_parts(bookmark: str | None, parts: int) -> tuple[int, ...] | None:
        if not bookmark:
            return None
        try:
            values = tuple(int(p) for p in bookmark.split("_"))
        except ValueError:
            values = ()
        if len(values) != parts:
            raise BadRequest(f"bookmark {bookmark!r} is not valid for this route")
        return values

    @staticmethod
    def _render_value(entry: tuple[Gradebook, int, int]) -> Json:
        book, k, s = entry
        return shapes.grade_value(book, k, s, bulk=True)

    def on_grade_values(self, request: Request, ou: int) -> Response:
        """{ou}/grades/values/: ObjectListPage of GradeValue with UserId and OrgUnitId.

        `modifiedSince` keeps values whose LastModified is at or after it (inclusive; UNCONFIRMED).
        """
        _, book = self._book(ou)
        type_id, since = self._bulk_filters(request)
        after = self._bookmark_parts(request.args.get("bookmark"), 2)
        entries = self._bulk_entries(book, type_id, since, after)
        return self._object_list(request, entries, self._render_value)

    def on_grade_values_descendants(self, request: Request, ou: int) -> Response:
        """{ou}/grades/values/descendants/: the bulk values of every course offering at or below {ou}."""
        self._org_unit(ou)
        type_id, since = self._bulk_filters(request)
        include_inactive = bool(flag_param(request.args.get("includeInactiveCourses")))
        after = self._bookmark_parts(request.args.get("bookmark"), 3)
        courses = [c for c in self.inst.courses_under(ou) if include_inactive or c.ou.is_active]

        def entries() -> Iterator[tuple[str, tuple[Gradebook, int, int]]]:
            for course in courses:
                if after is not None and course.ou.id < after[0]:
                    continue
                resume = after[1:] if after is not None and course.ou.id == after[0] else None
                book = self.inst.gradebook(course)
                for key, entry in self._bulk_entries(book, type_id, since, resume):
                    yield f"{course.ou.id}_{key}", entry

        return self._object_list(request, entries(), self._render_value)

    def on_final_values(self, request: Request, ou: int) -> Response:
        """{ou}/grades/final/values/: ObjectListPage of UserGradeValue (Final Calculated Grade)."""
        _, book = self._book(ou)
        start = self._after(list(book.students), request.args.get("bookmark"))

        def entries() -> Iterator[tuple[str, int]]:
            for s in range(start, len(book.students)):
                if book.enrolled[s]:
                    yield str(book.students[s]), s

        def render(s: int) -> Json:
            return shapes.user_grade_value(
                self.inst.users[book.students[s]], shapes.final_grade_value(book, s)
            )

        return self._object_list(request, entries(), render)

    def on_final_value(self, request: Request, ou: int, uid: int) -> Response:
        """{ou}/grades/final/values/{userId}: the calculated final grade (no adjusted grades exist here)."""
        _, book = self._book(ou)
        grade_type = (request.args.get("gradeType") or "calculated").lower()
        if grade_type not in ("calculated", "adjusted"):
            raise BadRequest("gradeType must be Calculated or Adjusted")
        s = book.student_pos.get(uid)
        value = shapes.final_grade_value(book, s) if s is not None and book.enrolled[s] else None
        if value is None or grade_type == "adjusted":
            raise ApiError(404, f"no {grade_type} final grade for user {uid} in {ou}")
        return json_response(value)

    def on_exemptions(self, request: Request, ou: int, uid: int) -> Response:
        """{ou}/grades/exemptions/{userId}: bare array of the user's exempted grade objects."""
        _, book = self._book(ou)
        s = book.student_pos.get(uid)
        if s is None or not book.enrolled[s]:
            raise ApiError(404, f"user {uid} is not a student of {ou}")
        return json_response(
            [shapes.exemption(book, k, uid) for k in range(len(book.items)) if shapes.is_exempt(book, k, s)]
        )

    # -- content progress (le; content.py) -------------------------------------------------

    def on_content_user_progress(self, request: Request, ou: int) -> Response:
        """{ou}/content/userprogress/: ObjectListPage of UserProgressData (pageSize default 20)."""
        course = self._course(ou)
        users = {int_param(v, "userId") for v in request.args.getlist("userId")}
        objects = {int_param(v, "objectId") for v in request.args.getlist("objectId")}
        size = page_size_param(request.args.get("pageSize") or str(CONTENT_PAGE_SIZE))
        after: tuple[int, ...] | None = None
        bookmark = request.args.get("bookmark")
        if bookmark:
            parts = bookmark.split("_")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise BadRequest(f"bookmark {bookmark!r} is not valid for this route")
            after = (int(parts[0]), int(parts[1]))
        records = [
            p
            for p in course_progress(self.inst, course)
            if (not users or p.user_id in users)
            and (not objects or p.object_id in objects)
            and (after is None or (p.user_id, p.object_id) > after)
        ]
        # repeated userId / objectId filters stay in the Next URL
        kept = [(k, v) for k, v in request.args.items(multi=True) if k != "bookmark"]
        return json_response(
            object_list_page(
                ((f"{p.user_id}_{p.object_id}", p) for p in records),
                lambda p: p.as_json(),
                size,
                lambda last: f"{request.base_url}?{urlencode([*kept, ('bookmark', last)])}",
            )
        )

    # -- Data Hub: export jobs (lp) --------------------------------------------------------
