"""Row shaping: Valence JSON blocks -> flat rows with integer keys and parent keys (dlt snake_cases them).

Shapers build a new row and never change the block they are given: a course's enrollments and grade
objects are one read shared by their resource and the grade values sync (`CourseReads`).
"""

from __future__ import annotations

from typing import Any

Row = dict[str, Any]


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    return int(value)


def _text(rich: Any) -> str | None:
    """The plain text of a RichText block ({Text, Html}) or a string."""
    if isinstance(rich, dict):
        return rich.get("Text")
    return rich


def _flatten(row: Row, field: str, prefix: str, keys: tuple[str, ...]) -> None:
    block = row.pop(field, None) or {}
    for k in keys:
        row[f"{prefix}{k}"] = block.get(k) if isinstance(block, dict) else None


def org_unit(block: Row) -> Row:
    """OrgUnitProperties -> org_units row (OrgUnitId from Identifier, Type flattened)."""
    row = dict(block)
    row["OrgUnitId"] = _int(row.pop("Identifier"))
    _flatten(row, "Type", "Type", ("Id", "Code", "Name"))
    return row


def course(block: Row) -> Row:
    """CourseOffering -> courses row (template, semester and department flattened to ids and codes)."""
    row = dict(block)
    row["OrgUnitId"] = _int(row.pop("Identifier"))
    for name in ("CourseTemplate", "Semester", "Department"):
        parent = row.pop(name, None) or {}
        row[f"{name}Id"] = _int(parent.get("Identifier"))
        row[f"{name}Code"] = parent.get("Code")
        if name != "CourseTemplate":
            row[f"{name}Name"] = parent.get("Name")
    row["Description"] = _text(row.get("Description"))
    return row


def user(block: Row) -> Row:
    """UserData -> users row (Activation.IsActive flattened)."""
    row = dict(block)
    activation = row.pop("Activation", None) or {}
    row["IsActive"] = activation.get("IsActive")
    return row


def enrollment(block: Row, org_unit_id: int) -> Row:
    """OrgUnitUser ({User, Role}) -> enrollments row with the SIS key (OrgDefinedId)."""
    person = block.get("User") or {}
    role = block.get("Role") or {}
    return {
        "OrgUnitId": org_unit_id,
        "UserId": _int(person.get("Identifier")),
        "OrgDefinedId": person.get("OrgDefinedId"),
        "DisplayName": person.get("DisplayName"),
        "EmailAddress": person.get("EmailAddress"),
        "RoleId": role.get("Id"),
        "RoleCode": role.get("Code"),
        "RoleName": role.get("Name"),
    }


def classlist_user(block: Row, org_unit_id: int) -> Row:
    """ClasslistUser -> classlists row (UserId from Identifier)."""
    row = dict(block)
    row["UserId"] = _int(row.pop("Identifier"))
    row["OrgUnitId"] = org_unit_id
    return row


def grade_setup(block: Row, org_unit_id: int) -> Row:
    """GradeSetupInfo -> grade_setup row."""
    return {"OrgUnitId": org_unit_id, **block}


def grade_category(block: Row, org_unit_id: int) -> Row:
    """GradeObjectCategory -> grade_categories row; its Grades[] are the grade_objects table's rows."""
    row = {k: v for k, v in block.items() if k != "Grades"}
    row["CategoryId"] = _int(row.pop("Id"))
    row["OrgUnitId"] = org_unit_id
    row["Description"] = _text(row.get("Description"))
    return row


def grade_object(block: Row, org_unit_id: int) -> Row:
    """GradeObject -> grade_objects row (CategoryId 0 means none; AssociatedTool flattened)."""
    row = dict(block)
    row["GradeObjectId"] = _int(row.pop("Id"))
    row["OrgUnitId"] = org_unit_id
    row["CategoryId"] = _int(row.get("CategoryId")) or None
    row["Description"] = _text(row.get("Description"))
    tool = row.pop("AssociatedTool", None) or {}
    row["AssociatedToolId"] = tool.get("ToolId")
    row["AssociatedToolItemId"] = tool.get("ToolItemId")
    row["AssociatedToolName"] = tool.get("ToolName")
    return row


_VALUE_FIELDS = (
    "DisplayedGrade",
    "GradeObjectName",
    "GradeObjectType",
    "GradeObjectTypeName",
    "LastModified",
    "LastModifiedBy",
    "ReleasedDate",
    "PointsNumerator",
    "PointsDenominator",
    "WeightedNumerator",
    "WeightedDenominator",
)


def _value_fields(value: Row | None) -> Row:
    value = value or {}
    row = {k: value.get(k) for k in _VALUE_FIELDS}
    row["Comments"] = _text(value.get("Comments"))
    row["PrivateComments"] = _text(value.get("PrivateComments"))
    return row


def grade_value(block: Row, org_unit_id: int, org_defined_ids: dict[int, str | None]) -> Row:
    """Bulk GradeValue (with UserId, OrgUnitId) -> grade_values row keyed (org unit, object, user)."""
    user_id = int(block["UserId"])
    return {
        "OrgUnitId": _int(block.get("OrgUnitId")) or org_unit_id,
        "GradeObjectId": int(block["GradeObjectIdentifier"]),
        "UserId": user_id,
        "OrgDefinedId": org_defined_ids.get(user_id),
        **_value_fields(block),
    }


def final_grade(block: Row, org_unit_id: int) -> Row:
    """UserGradeValue ({User, GradeValue|null}) -> final_grades row; HasGrade False when nothing counts."""
    person = block.get("User") or {}
    value = block.get("GradeValue")
    return {
        "OrgUnitId": org_unit_id,
        "UserId": _int(person.get("Identifier")),
        "OrgDefinedId": person.get("OrgDefinedId"),
        "HasGrade": value is not None,
        "GradeObjectId": _int((value or {}).get("GradeObjectIdentifier")),
        **_value_fields(value),
    }


# resource name -> shaper of one block of that route (the org unit id is the parent key)
COURSE_CHILD_SHAPERS = {
    "enrollments": enrollment,
    "classlists": classlist_user,
    "grade_setup": grade_setup,
    "grade_categories": grade_category,
    "grade_objects": grade_object,
    "final_grades": final_grade,
}
