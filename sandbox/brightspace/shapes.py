"""Valence JSON blocks (docs/brightspace-api.md §5) built from the institution's records."""

from __future__ import annotations

from typing import Any

from .gradebook import (
    BLANK,
    EXEMPT,
    FINAL_CALCULATED,
    GRADED,
    NUMERIC,
    PASS_FAIL,
    TYPE_NAMES,
    Gradebook,
    GradeCategory,
    GradeItem,
)
from .institution import (
    ROLES,
    ROOT_ORG_UNIT_ID,
    Course,
    Enrollment,
    OrgUnit,
    Role,
    User,
)
from .timestamps import to_utc_string

Json = dict[str, Any]

# WeightDistributionType codes: 0 manual, 1 even, 2 by points come from third-party client code
# (docs/grade-calculation.md B.1, UNCONFIRMED); the data set column is a varchar(8), spelled here.
DISTRIBUTION_CODES = {"manual": 0, "even": 1, "points": 2}
DISTRIBUTION_NAMES = {"manual": "Manual", "even": "Even", "points": "ByPoints"}

GRADE_SCHEME: Json = {
    "Id": 1,
    "Name": "Letter grade",
    "ShortName": "Letter",
    "Ranges": [
        {"PercentStart": start, "Symbol": symbol, "AssignedValue": value, "Colour": colour}
        for start, symbol, value, colour in (
            (0.0, "F", 0.0, "#D92D20"),
            (50.0, "D", 55.0, "#F79009"),
            (60.0, "C", 65.0, "#FDB022"),
            (70.0, "B", 75.0, "#12B76A"),
            (80.0, "A", 90.0, "#039855"),
        )
    ],
}


def rich_text(text: str) -> Json:
    """A `RichText` block."""
    return {"Text": text, "Html": f"<p>{text}</p>" if text else ""}


def number(value: float | None) -> float | int | None:
    """A decimal for JSON: whole numbers as ints (8 not 8.0)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else value


def org_unit_type(unit: OrgUnit) -> Json:
    """An org unit's `Type` block."""
    return {"Id": unit.type.id, "Code": unit.type.code, "Name": unit.type.name}


def org_unit_properties(unit: OrgUnit) -> Json:
    """`OrgUnit.OrgUnitProperties` (orgstructure routes)."""
    return {
        "Identifier": str(unit.id),
        "Name": unit.name,
        "Code": unit.code,
        "Type": org_unit_type(unit),
        "Path": unit.path,
    }


def org_unit_info(unit: OrgUnit) -> Json:
    """`Enrollment.OrgUnitInfo`."""
    return {
        "Id": unit.id,
        "Type": org_unit_type(unit),
        "Name": unit.name,
        "Code": unit.code,
        "HomeUrl": f"/d2l/home/{unit.id}",
        "ImageUrl": None,
    }


def _basic_org_unit(unit: OrgUnit) -> Json:
    return {"Identifier": str(unit.id), "Name": unit.name, "Code": unit.code}


def course_offering(course: Course) -> Json:
    """`Course.CourseOffering` (`courses/{ou}`)."""
    unit = course.ou
    return {
        "Identifier": str(unit.id),
        "Name": unit.name,
        "Code": unit.code,
        "IsActive": unit.is_active,
        "Path": unit.path,
        "StartDate": to_utc_string(unit.start),
        "EndDate": to_utc_string(unit.end),
        "CourseTemplate": _basic_org_unit(course.template),
        "Semester": _basic_org_unit(course.semester),
        "Department": _basic_org_unit(course.department),
        "Description": rich_text(f"{unit.name}, taught in {course.semester.name}."),
        "CanSelfRegister": False,
    }


def section_data(course: Course, section: OrgUnit) -> Json:
    """`Section.SectionData` (`{ou}/sections/`)."""
    return {
        "SectionId": section.id,
        "Name": section.name,
        "Code": section.code,
        "Description": rich_text(""),
        "Enrollments": course.section_members(section.id),
    }


def user_data(user: User) -> Json:
    """`User.UserData` (`users/`)."""
    return {
        "OrgId": ROOT_ORG_UNIT_ID,
        "UserId": user.id,
        "FirstName": user.first_name,
        "MiddleName": user.middle_name,
        "LastName": user.last_name,
        "UserName": user.user_name,
        "ExternalEmail": user.email,
        "OrgDefinedId": user.org_defined_id,
        "UniqueIdentifier": user.user_name,
        "Activation": {"IsActive": user.is_active},
        "LastAccessedDate": to_utc_string(user.last_accessed),
        "Pronouns": None,
        "DisplayName": user.display_name,
    }


def who_am_i(user: User) -> Json:
    """`User.WhoAmIUser` (`users/whoami`)."""
    return {
        "Identifier": str(user.id),
        "FirstName": user.first_name,
        "LastName": user.last_name,
        "UniqueName": user.user_name,
        "ProfileIdentifier": f"p{user.id}",
        "Pronouns": None,
    }


def user_block(user: User) -> Json:
    """`User.User` (inside enrollment and grade value blocks)."""
    return {
        "Identifier": str(user.id),
        "DisplayName": user.display_name,
        "EmailAddress": user.email,
        "OrgDefinedId": user.org_defined_id,
        "ProfileBadgeUrl": None,
        "ProfileIdentifier": f"p{user.id}",
    }


def role_info(role: Role) -> Json:
    """`RoleInfo`."""
    return {"Id": role.id, "Code": role.code, "Name": role.name}


def org_unit_user(user: User, enrollment: Enrollment) -> Json:
    """`Enrollment.OrgUnitUser` (`enrollments/orgUnits/{ou}/users/`)."""
    return {"User": user_block(user), "Role": role_info(enrollment.role)}


def user_org_unit(unit: OrgUnit, enrollment: Enrollment) -> Json:
    """`Enrollment.UserOrgUnit` (`enrollments/users/{userId}/orgUnits/`)."""
    return {
        "OrgUnit": org_unit_info(unit),
        "Role": role_info(enrollment.role),
        "IsCascading": False,
        "EnrolledByUserId": None,
        "EnrolledByUserDate": to_utc_string(enrollment.enrolled_at),
    }


def enrollment_data(enrollment: Enrollment) -> Json:
    """`Enrollment.EnrollmentData` (`enrollments/orgUnits/{ou}/users/{userId}`)."""
    return {
        "OrgUnitId": enrollment.org_unit_id,
        "UserId": enrollment.user_id,
        "RoleId": enrollment.role.id,
        "IsCascading": False,
    }


def classlist_user(user: User, enrollment: Enrollment) -> Json:
    """`Enrollment.ClasslistUser` (`{ou}/classlist/`)."""
    return {
        "Identifier": str(user.id),
        "ProfileIdentifier": f"p{user.id}",
        "DisplayName": user.display_name,
        "Username": user.user_name,
        "OrgDefinedId": user.org_defined_id,
        "Email": user.email,
        "FirstName": user.first_name,
        "LastName": user.last_name,
        "RoleId": enrollment.role.id,
        "LastAccessed": to_utc_string(enrollment.last_accessed),
        "IsOnline": False,
        "ClasslistRoleDisplayName": ROLES[enrollment.role.id].name,
        "Pronouns": None,
    }


def grade_object(book: Gradebook, item: GradeItem) -> Json:
    """`Grade.GradeObject` (`{ou}/grades/`)."""
    block: Json = {
        "Id": item.id,
        "Name": item.name,
        "ShortName": item.short_name,
        "GradeType": item.type_name,
        "CategoryId": item.category_id or 0,
        "Description": rich_text(""),
        "AssociatedTool": {"ToolId": 1, "ToolItemId": item.id, "ToolName": item.tool} if item.tool else None,
        "IsHidden": False,
        "MaxPoints": number(item.max_points),
        "IsBonus": item.is_bonus,
        "ExcludeFromFinalGradeCalculation": item.excluded,
        "GradeSchemeId": book.scheme_id,
        "GradeSchemeUrl": f"/d2l/api/le/grades/schemes/{book.scheme_id}",
        "Weight": number(round(item.served_weight, 9)),
    }
    if item.type_id == NUMERIC:
        block["CanExceedMaxPoints"] = item.can_exceed
    return block


def grade_category(book: Gradebook, category: GradeCategory) -> Json:
    """`Grade.GradeObjectCategory` (`{ou}/grades/categories/`)."""
    members = [i for i in book.items if i.category_id == category.id]
    return {
        "Id": category.id,
        "Name": category.name,
        "ShortName": category.short_name,
        "Grades": [grade_object(book, i) for i in members],
        "CanExceedMax": category.can_exceed,
        "ExcludeFromFinalGrade": category.excluded,
        "Description": rich_text(""),
        "StartDate": None,
        "EndDate": None,
        "Weight": number(category.weight),
        "MaxPoints": number(category.max_points),
        "AutoPoints": True,
        "WeightDistributionType": DISTRIBUTION_CODES[category.distribution],
        "NumberOfHighestToDrop": category.drop_highest,
        "NumberOfLowestToDrop": category.drop_lowest,
        "ShowWeightedScore": book.grading_system == "Weighted",
        "ShowPointsScore": book.grading_system == "Points",
    }


def grade_setup(book: Gradebook) -> Json:
    """`Grade.GradeSetupInfo` (`{ou}/grades/setup/`)."""
    return {
        "GradingSystem": book.grading_system,
        "IsNullGradeZero": book.null_is_zero,
        "DefaultGradeSchemeId": book.scheme_id,
    }


def grade_value(book: Gradebook, k: int, s: int, bulk: bool) -> Json:
    """`Grade.GradeValue` of (item k, student s); the bulk routes add UserId and OrgUnitId."""
    item = book.items[k]
    state = book.state[k][s]
    points = book.points[k][s] if state == GRADED else None
    share = book.shares[k]
    if state == GRADED:
        if item.type_id == PASS_FAIL:
            displayed = "Pass" if points else "Fail"
        else:
            displayed = f"{number(points)} / {number(item.max_points)}"
    else:
        displayed = ""
    modified = book.modified[k][s]
    value: Json = {}
    if bulk:
        value["UserId"] = book.students[s]
        value["OrgUnitId"] = book.ou
    value.update(
        {
            "DisplayedGrade": displayed,
            "GradeObjectIdentifier": str(item.id),
            "GradeObjectName": item.name,
            "GradeObjectType": item.type_id,
            "GradeObjectTypeName": item.type_name,
            "Comments": rich_text(book.comment(k, s)),
            "PrivateComments": rich_text(""),
            "LastModified": to_utc_string(modified),
            "LastModifiedBy": book.grader(k, s),
            "ReleasedDate": to_utc_string(modified) if book.is_released(k, s) else None,
            "PointsNumerator": number(points),
            "PointsDenominator": number(item.max_points) if state != BLANK and state != EXEMPT else None,
            "WeightedNumerator": (
                number(share * points / item.max_points) if share is not None and points is not None else None
            ),
            "WeightedDenominator": number(share) if share is not None and state == GRADED else None,
        }
    )
    return value


def final_grade_value(book: Gradebook, s: int) -> Json | None:
    """The Final Calculated Grade `Grade.GradeValue` of student s, or None when nothing counts."""
    final = book.final(s)
    if final.percent is None:
        return None
    modified = book.final_modified[s]
    return {
        "DisplayedGrade": final.display,
        "GradeObjectIdentifier": str(book.final_object_id),
        "GradeObjectName": "Final Calculated Grade",
        "GradeObjectType": FINAL_CALCULATED,
        "GradeObjectTypeName": TYPE_NAMES[FINAL_CALCULATED],
        "Comments": rich_text(""),
        "PrivateComments": rich_text(""),
        "LastModified": to_utc_string(modified or None),
        "LastModifiedBy": book.graders[0],
        "ReleasedDate": None,
        "PointsNumerator": number(final.points_numerator),
        "PointsDenominator": number(final.points_denominator),
        "WeightedNumerator": number(final.percent),
        "WeightedDenominator": 100,
    }


def user_grade_value(user: User, value: Json | None) -> Json:
    """`Grade.UserGradeValue` (per-object and final value routes)."""
    return {"User": user_block(user), "GradeValue": value}


def exemption(book: Gradebook, k: int, user_id: int) -> Json:
    """One exempted grade object of a user (`{ou}/grades/exemptions/{userId}`; shape UNCONFIRMED)."""
    item = book.items[k]
    return {
        "GradeObjectId": item.id,
        "GradeObjectName": item.name,
        "UserId": user_id,
        "OrgUnitId": book.ou,
    }


def is_exempt(book: Gradebook, k: int, s: int) -> bool:
    """Whether (item k, student s) is exempt."""
    return book.state[k][s] == EXEMPT
