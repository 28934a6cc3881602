"""SIS roster columns: what the file must hold, what the table guarantees."""

from __future__ import annotations

from typing import Any

# Canvas's SIS enrollments.csv names; a Brightspace roster uses the same columns with the course
# offering code as course_id and the OrgDefinedId as user_id.
REQUIRED_COLUMNS = ("course_id", "user_id", "role", "status")
OPTIONAL_COLUMNS = ("section_id",)
ROSTER_PRIMARY_KEY = ("course_id", "user_id", "role")
STATUSES = frozenset({"active", "deleted", "completed", "inactive", "deleted_last_completed"})


def _text(nullable: bool) -> dict[str, Any]:
    return {"data_type": "text", "nullable": nullable}


ROSTER_COLUMNS: dict[str, dict[str, Any]] = {
    "course_id": _text(False),
    "user_id": _text(False),
    "role": _text(False),
    "section_id": _text(True),
    "status": _text(False),
    "source_file": _text(False),
    "source_line": {"data_type": "bigint", "nullable": False},
}

# Personal fields a roster may carry, by privacy category (sources/privacy.py;
# `[sources.sis_roster.privacy]`). user_id is the SIS id: with `sis_ids = "pseudonymise"` and the
# LMS's policy the same, it hashes to the same value as the LMS's sis_user_id / OrgDefinedId.
PERSONAL_FIELDS: dict[str, dict[str, str]] = {
    "sis_roster": {
        "user_id": "sis_ids",
        "first_name": "names",
        "last_name": "names",
        "full_name": "names",
        "name": "names",
        "sortable_name": "names",
        "short_name": "names",
        "preferred_name": "names",
        "email": "emails",
        "login_id": "login_ids",
    },
}
