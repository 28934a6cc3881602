"""SIS roster source: the student information system's enrollments, from CSV files, for the enrolment audit."""

from __future__ import annotations

from typing import Any

import dlt
from dlt.sources import DltResource

from .reader import SisRosterFileError, roster_resource
from .settings import ROSTER_COLUMNS, ROSTER_PRIMARY_KEY

__all__ = ["sis_roster_source", "SisRosterFileError", "ROSTER_COLUMNS", "ROSTER_PRIMARY_KEY"]


@dlt.source(name="sis_roster", max_table_nesting=0)
def sis_roster_source(
    path_or_bucket: str = dlt.config.value,
    file_glob: str = "*.csv",
    credentials: Any = None,
) -> DltResource:
    """Load the SIS roster (an SIS enrollments CSV) into the table `sis_roster`, replacing it.

    The roster is what the SIS says each course's enrollments should be, keyed by SIS ids; load it
    into the same dataset as the LMS so the enrolment audit can compare the two.

    Args:
        path_or_bucket: one CSV file, or a folder / bucket URL holding roster files
            (`[sources.sis_roster] path` in config.toml is read by the pipelines).
        file_glob: which files of a folder or bucket to read (ignored for a single file).
        credentials: filesystem credentials for a bucket; by default dlt's filesystem configuration.

    Returns:
        The `sis_roster` resource (write disposition replace: each run is the whole roster).
    """
    return roster_resource(path_or_bucket, file_glob, credentials=credentials)
