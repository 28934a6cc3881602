"""Auth, discovery, org structure, users, enrollments and classlists (lp and le routes;
docs/brightspace-api.md)."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from .. import shapes
from ..http import SUPPORTED_VERSIONS, ApiError, Json, flag_param, int_param, json_response
from ..institution import ORG_UNIT_TYPES, ROOT_ORG_UNIT_ID, STUDENT, Course
from ..oauth import TokenService
from ..pagination import paged_result_set
from . import ValenceRoom


class OrgUnitRoutes(ValenceRoom):
    """The token endpoint, versions, org units, users, enrollments and classlists."""

    tokens: TokenService

    def on_token(self, request: Request) -> Response:
        """POST /core/connect/token."""
        reply = self.tokens.token_request(request.form.to_dict(), request.headers.get("Authorization"))
        response = json_response(reply.body, reply.status)
        response.headers["Cache-Control"] = "no-store"
        return response

    def on_versions(self, request: Request) -> Response:
        """GET /d2l/api/versions/: every product's versions."""
        return json_response([self._product_block(p) for p in SUPPORTED_VERSIONS])

    def on_product_versions(self, request: Request, product: str) -> Response:
        """GET /d2l/api/{product}/versions/."""
        if product not in SUPPORTED_VERSIONS:
            raise ApiError(404, f"unknown product {product!r}")
        return json_response(self._product_block(product))

    @staticmethod
    def _product_block(product: str) -> Json:
        versions = SUPPORTED_VERSIONS[product]
        return {"ProductCode": product, "LatestVersion": versions[-1], "SupportedVersions": list(versions)}

    # -- org structure (lp) ----------------------------------------------------------------

    def on_organization_info(self, request: Request) -> Response:
        """organization/info."""
        root = self.inst.org_units[ROOT_ORG_UNIT_ID]
        return json_response({"Identifier": str(root.id), "Name": root.name, "TimeZone": "America/Toronto"})

    def on_org_unit_types(self, request: Request) -> Response:
        """outypes/: bare array."""
        return json_response(
            [
                {"Id": t.id, "Code": t.code, "Name": t.name, "Description": "", "SortOrder": n}
                for n, t in enumerate(ORG_UNIT_TYPES.values())
            ]
        )

    def on_orgstructure(self, request: Request) -> Response:
        """orgstructure/: PagedResultSet of OrgUnitProperties."""
        return self._paged_units(
            request, self._filtered_units(request, self.inst.org_unit_ids, "orgUnitType")
        )

    def on_org_unit(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}."""
        return json_response(shapes.org_unit_properties(self._org_unit(ou)))

    def on_children(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/children/: bare array."""
        self._org_unit(ou)
        units = self._filtered_units(request, sorted(self.inst.children.get(ou, [])), "ouTypeId")
        return json_response([shapes.org_unit_properties(u) for u in units])

    def on_children_paged(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/children/paged/: PagedResultSet."""
        self._org_unit(ou)
        return self._paged_units(
            request, self._filtered_units(request, sorted(self.inst.children.get(ou, [])), "ouTypeId")
        )

    def on_descendants(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/descendants/: bare array."""
        self._org_unit(ou)
        units = self._filtered_units(request, self.inst.descendants(ou), "ouTypeId")
        return json_response([shapes.org_unit_properties(u) for u in units])

    def on_descendants_paged(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/descendants/paged/: PagedResultSet."""
        self._org_unit(ou)
        return self._paged_units(
            request, self._filtered_units(request, self.inst.descendants(ou), "ouTypeId")
        )

    def on_parents(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/parents/: bare array."""
        unit = self._org_unit(ou)
        units = self._filtered_units(request, sorted(unit.parent_ids), "ouTypeId")
        return json_response([shapes.org_unit_properties(u) for u in units])

    def on_ancestors(self, request: Request, ou: int) -> Response:
        """orgstructure/{ou}/ancestors/: bare array."""
        self._org_unit(ou)
        units = self._filtered_units(request, self.inst.ancestors(ou), "ouTypeId")
        return json_response([shapes.org_unit_properties(u) for u in units])

    def on_course(self, request: Request, ou: int) -> Response:
        """courses/{ou}: CourseOffering."""
        return json_response(shapes.course_offering(self._course(ou)))

    def on_sections(self, request: Request, ou: int) -> Response:
        """{ou}/sections/: bare array of SectionData."""
        course = self._course(ou)
        return json_response([shapes.section_data(course, s) for s in course.sections])

    # -- users and enrollments (lp) --------------------------------------------------------

    def on_users(self, request: Request) -> Response:
        """users/: PagedResultSet of UserData, or a bare array when filtered by a unique field."""
        lookups = {
            "orgDefinedId": lambda u, v: u.org_defined_id == v,
            "userName": lambda u, v: u.user_name.lower() == v.lower(),
            "externalEmail": lambda u, v: (u.email or "").lower() == v.lower(),
        }
        for param, matches in lookups.items():
            value = request.args.get(param)
            if value:
                found = [
                    self.inst.users[uid] for uid in self.inst.user_ids if matches(self.inst.users[uid], value)
                ]
                if not found:
                    raise ApiError(404, f"no user with {param}={value}")
                return json_response([shapes.user_data(u) for u in found])
        users = [self.inst.users[uid] for uid in self.inst.user_ids]
        return json_response(
            paged_result_set(users, self.inst.user_ids, request.args.get("bookmark"), shapes.user_data)
        )

    def on_whoami(self, request: Request) -> Response:
        """users/whoami: the integration user the tokens act as."""
        return json_response(shapes.who_am_i(self.inst.users[self.inst.admin_id]))

    def on_user(self, request: Request, uid: int) -> Response:
        """users/{userId}."""
        return json_response(shapes.user_data(self._user(uid)))

    def on_my_enrollments(self, request: Request) -> Response:
        """enrollments/myenrollments/: the integration user has no course enrollments."""
        return json_response(paged_result_set([], [], request.args.get("bookmark"), lambda x: x))

    def on_enrollments_by_org_unit(self, request: Request, ou: int) -> Response:
        """enrollments/orgUnits/{ou}/users/: PagedResultSet of OrgUnitUser."""
        self._org_unit(ou)
        course = self.inst.courses.get(ou)
        role_id = int_param(request.args.get("roleId"), "roleId")
        entries = []
        if course is not None:
            for uid in course.enrolled_user_ids():
                enrollment = course.enrollments[uid]
                if role_id is None or enrollment.role.id == role_id:
                    entries.append((self.inst.users[uid], enrollment))
        keys = [user.id for user, _ in entries]
        return json_response(
            paged_result_set(entries, keys, request.args.get("bookmark"), lambda e: shapes.org_unit_user(*e))
        )

    def on_enrollment(self, request: Request, ou: int, uid: int) -> Response:
        """enrollments/orgUnits/{ou}/users/{userId}: EnrollmentData."""
        course = self._course(ou)
        enrollment = course.enrollments.get(uid)
        if enrollment is None:
            raise ApiError(404, f"user {uid} is not enrolled in {ou}")
        return json_response(shapes.enrollment_data(enrollment))

    def on_enrollments_by_user(self, request: Request, uid: int) -> Response:
        """enrollments/users/{userId}/orgUnits/: PagedResultSet of UserOrgUnit."""
        self._user(uid)
        role_id = int_param(request.args.get("roleId"), "roleId")
        type_id = int_param(request.args.get("orgUnitTypeId"), "orgUnitTypeId")
        entries = []
        for ou in self.inst.user_courses.get(uid, []):
            unit = self.inst.org_units[ou]
            enrollment = self.inst.courses[ou].enrollments[uid]
            if (role_id is None or enrollment.role.id == role_id) and (
                type_id is None or unit.type.id == type_id
            ):
                entries.append((unit, enrollment))
        keys = [unit.id for unit, _ in entries]
        return json_response(
            paged_result_set(entries, keys, request.args.get("bookmark"), lambda e: shapes.user_org_unit(*e))
        )

    # -- classlist (le) --------------------------------------------------------------------

    def _classlist_entries(self, request: Request, course: Course) -> list[int]:
        role_id = int_param(request.args.get("roleId"), "roleId")
        students_only = flag_param(request.args.get("onlyShowShownInGrades"))
        uids = []
        for uid in course.enrolled_user_ids():
            role = course.enrollments[uid].role
            if (role_id is None or role.id == role_id) and (not students_only or role is STUDENT):
                uids.append(uid)
        return uids

    def _classlist_user(self, course: Course, uid: int) -> Json:
        return shapes.classlist_user(self.inst.users[uid], course.enrollments[uid])

    def on_classlist(self, request: Request, ou: int) -> Response:
        """{ou}/classlist/: bare array of ClasslistUser."""
        course = self._course(ou)
        return json_response(
            [self._classlist_user(course, uid) for uid in self._classlist_entries(request, course)]
        )

    def on_classlist_paged(self, request: Request, ou: int) -> Response:
        """{ou}/classlist/paged/: ObjectListPage of ClasslistUser."""
        course = self._course(ou)
        uids = self._classlist_entries(request, course)
        start = self._after(uids, request.args.get("bookmark"))
        entries = ((str(uid), uid) for uid in uids[start:])
        return self._object_list(request, entries, lambda uid: self._classlist_user(course, uid))
