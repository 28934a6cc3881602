"""SIS roster source: the student information system's enrollments, from CSV files, for the enrolment audit."""

from __future__ import annotations

from typing import Any

import dlt
from dlt.sources import DltResource

from ..privacy import PrivacyPolicy, privacy_rules, protect_all
from .reader import SisRosterFileError, roster_resource
from .settings import PERSONAL_FIELDS, ROSTER_COLUMNS, ROSTER_PRIMARY_KEY

__all__ = ["sis_roster_source", "SisRosterFileError", "ROSTER_COLUMNS", "ROSTER_PRIMARY_KEY"]


@dlt.source(name="sis_roster", max_table_nesting=0)
def sis_roster_source(
    path_or_bucket: str = dlt.config.value,
    file_glob: str = "*.csv",
    credentials: Any = None,
    privacy: PrivacyPolicy | None = None,
) -> DltResource:
    """Load the SIS roster (an SIS enrollments CSV) into the table `sis_roster`, replacing it.

    The roster is what the SIS says each course's enrollments should be, keyed by SIS ids; load it
    into the same dataset as the LMS so the enrolment audit can compare the two.

    Args:
        path_or_bucket: one CSV file, or a folder / bucket URL holding roster files
            (`[sources.sis_roster] path` in config.toml is read by the pipelines).
        file_glob: which files of a folder or bucket to read (ignored for a single file).
        credentials: filesystem credentials for a bucket; by default dlt's filesystem configuration.
        privacy: keep or pseudonymise the SIS user ids, and keep, pseudonymise or drop any names,
            e-mails or login ids the roster carries (`[sources.sis_roster.privacy]`, key
            `[sources.privacy] hash_key`; see sources/privacy.py). Use the LMS's `sis_ids` setting.

    Returns:
        The `sis_roster` resource (write disposition replace: each run is the whole roster).

    Raises:
        PrivacyConfigError: the privacy policy cannot be applied (names the setting to fix).
    """
    rules = privacy_rules(privacy, "sis_roster")
    (roster,) = protect_all(
        [roster_resource(path_or_bucket, file_glob, credentials=credentials)], PERSONAL_FIELDS, rules
    )
    return roster
