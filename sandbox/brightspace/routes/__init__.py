"""The Brightspace sandbox's Valence routes, one room per area; `BrightspaceApp` (app.py) is built from
the rooms and serves them all.

A room holds the `on_<endpoint>` handlers of its routes; app.py's route table names the endpoints.
`ValenceRoom` holds what every room uses: finding org units, courses, gradebooks and users (404
otherwise) and the two Valence page shapes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.wrappers import Request, Response

from .. import shapes
from ..gradebook import Gradebook
from ..http import ApiError, Json, int_param, json_response
from ..institution import COURSE_OFFERING, Course, Institution, OrgUnit
from ..pagination import BadRequest, object_list_page, page_size_param, paged_result_set, url_with


class ValenceRoom:
    """Lookups and paging helpers over the institution the app serves."""

    inst: Institution

    def _org_unit(self, ou: int) -> OrgUnit:
        unit = self.inst.org_units.get(ou)
        if unit is None:
            raise ApiError(404, f"org unit {ou} not found")
        return unit

    def _course(self, ou: int) -> Course:
        unit = self._org_unit(ou)
        if unit.type is not COURSE_OFFERING:
            raise ApiError(404, f"org unit {ou} is not a course offering")
        return self.inst.courses[ou]

    def _book(self, ou: int) -> tuple[Course, Gradebook]:
        course = self._course(ou)
        return course, self.inst.gradebook(course)

    def _user(self, uid: int) -> Any:
        user = self.inst.users.get(uid)
        if user is None:
            raise ApiError(404, f"user {uid} not found")
        return user

    @staticmethod
    def _after(keys: list[int], bookmark: str | None) -> int:
        if not bookmark:
            return 0
        try:
            return bisect_right(keys, int(bookmark))
        except ValueError as exc:
            raise BadRequest(f"bookmark {bookmark!r} is not valid for this route") from exc

    @staticmethod
    def _object_list(
        request: Request, entries: Iterator[tuple[str, Any]], render: Callable[[Any], Json]
    ) -> Response:
        size = page_size_param(request.args.get("pageSize"))
        params = request.args.to_dict()

        def next_url(bookmark: str) -> str:
            return url_with(request.base_url, params, bookmark=bookmark)

        return json_response(object_list_page(entries, render, size, next_url))

    def _filtered_units(self, request: Request, ids: list[int], type_param: str) -> list[OrgUnit]:
        type_id = int_param(request.args.get(type_param), type_param)
        code = request.args.get("orgUnitCode", "").lower()
        name = request.args.get("orgUnitName", "").lower()
        exact_code = request.args.get("exactOrgUnitCode")
        exact_name = request.args.get("exactOrgUnitName")
        units = []
        for ou in ids:
            unit = self.inst.org_units[ou]
            if type_id is not None and unit.type.id != type_id:
                continue
            if (code and code not in unit.code.lower()) or (name and name not in unit.name.lower()):
                continue
            if (exact_code is not None and unit.code != exact_code) or (
                exact_name is not None and unit.name != exact_name
            ):
                continue
            units.append(unit)
        return units

    @staticmethod
    def _paged_units(request: Request, units: list[OrgUnit]) -> Response:
        keys = [u.id for u in units]
        return json_response(
            paged_result_set(units, keys, request.args.get("bookmark"), shapes.org_unit_properties)
        )
