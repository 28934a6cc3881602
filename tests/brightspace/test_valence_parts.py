"""Pure parts of the Brightspace source: envelopes, Next URLs, version choice, export CSVs."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

import pytest

from sources.brightspace.bds import ExtractInfo, plan_extracts
from sources.brightspace.bds_catalogue import BDS_BY_TABLE, data_set_for
from sources.brightspace.datahub import job_state, read_csv_rows
from sources.brightspace.helpers import VersionError, choose_versions, host_root
from sources.brightspace.paging import envelope_of, rebase_next
from sources.lms_http.errors import LmsApiError

VERSIONS = [
    {"ProductCode": "lp", "LatestVersion": "1.53", "SupportedVersions": ["1.49", "1.50", "1.53"]},
    {"ProductCode": "le", "LatestVersion": "1.92", "SupportedVersions": ["1.82", "1.92"]},
]


def test_envelopes_are_told_apart() -> None:
    assert envelope_of({"PagingInfo": {"Bookmark": "5", "HasMoreItems": True}, "Items": []}) == "paged"
    assert envelope_of({"Next": None, "Objects": []}) == "objects"
    assert envelope_of([{"Id": 1}]) == "array"
    assert envelope_of({"Identifier": "1"}) == "object"


def test_next_url_is_rebased_on_our_host_and_keeps_our_filters() -> None:
    url, query = rebase_next(
        "http://127.0.0.1:8080/d2l/api/le/1.92/6620/grades/values/",
        {"modifiedSince": "2025-03-14T17:00:00.000Z", "pageSize": 200},
        "https://school.brightspace.com/d2l/api/le/1.92/6620/grades/values/?bookmark=100_7&pageSize=200",
    )
    assert url == "http://127.0.0.1:8080/d2l/api/le/1.92/6620/grades/values/"
    assert query == {"bookmark": "100_7", "pageSize": "200", "modifiedSince": "2025-03-14T17:00:00.000Z"}


def test_versions_latest_by_default_override_checked() -> None:
    assert choose_versions(VERSIONS, None) == {"lp": "1.53", "le": "1.92"}
    assert choose_versions(VERSIONS, {"lp": "1.49"}) == {"lp": "1.49", "le": "1.92"}
    with pytest.raises(VersionError, match=r"api_versions"):
        choose_versions(VERSIONS, {"le": "1.99"})
    with pytest.raises(VersionError, match=r"lists no 'le'"):
        choose_versions(VERSIONS[:1], None)
    assert host_root("https://school.brightspace.com/d2l/api/") == "https://school.brightspace.com"


def _zip(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("AttendanceUserSessions.csv", text.encode("utf-8-sig"))
    return out.getvalue()


def test_export_csv_with_bom_is_read_into_typed_rows() -> None:
    data_set = BDS_BY_TABLE["attendance_user_sessions"]
    content = _zip(
        "UserId,AttendanceSessionId,SchemeSymbolId,LastModified,LastModifiedBy\r\n"
        "101,500000,3,2025-03-14T15:00:00.000Z,120\r\n"
        "102,500000,,,\r\n"
    )
    (rows,) = list(read_csv_rows(content, data_set))
    assert rows[0] == {
        "UserId": 101,
        "AttendanceSessionId": 500000,
        "SchemeSymbolId": 3,
        "LastModified": datetime(2025, 3, 14, 15, 0, tzinfo=UTC),
        "LastModifiedBy": 120,
    }
    assert rows[1]["SchemeSymbolId"] is None and rows[1]["LastModified"] is None
    with pytest.raises(LmsApiError, match="line 2"):
        list(read_csv_rows(_zip("UserId,AttendanceSessionId\r\nabc,1\r\n"), data_set))


def test_export_job_states() -> None:
    assert not job_state({"Status": 0}).terminal and not job_state({"Status": 1}).terminal
    assert job_state({"Status": 2}).done
    assert job_state({"Status": 3}).failed and job_state({"Status": 4}).failed


def _extract(kind: str, day: int) -> ExtractInfo:
    return ExtractInfo(f"{kind}-{day}", kind, datetime(2025, 3, day, 17, tzinfo=UTC), "")


def test_extract_plan_full_first_then_newer_differentials() -> None:
    posts, enrollments = BDS_BY_TABLE["discussion_posts"], BDS_BY_TABLE["bds_user_enrollments"]
    fulls = [_extract("Full", 4), _extract("Full", 11)]
    diffs = [_extract("Differential", d) for d in range(2, 16)]  # 14 kept, the 2nd to the 15th
    # first run: the latest Full, then the differentials after it
    first = plan_extracts(posts, fulls, diffs, None)
    assert first.full == fulls[1] and first.differentials == diffs[-4:] and first.last == diffs[-1]
    # a later run: the differentials after the watermark only
    mark = diffs[-3].watermark()
    assert plan_extracts(posts, fulls, diffs, mark).differentials == diffs[-2:]
    assert plan_extracts(posts, fulls, diffs, diffs[-1].watermark()).last is None
    # the differential after the watermark is gone (older than the oldest kept): reload from the Full
    gap = plan_extracts(posts, fulls, diffs, _extract("Differential", 1).watermark())
    assert gap.full == fulls[1] and gap.differentials == diffs[-4:]
    # without IsDeleted a differential cannot say a row left: a newer Full is loaded
    stale = plan_extracts(enrollments, fulls, diffs, diffs[6].watermark())  # the 8th, before the 11th
    assert stale.full == fulls[1]
    assert plan_extracts(enrollments, fulls, diffs, diffs[-3].watermark()).full is None
    # a data set without a known key: each new Full replaces the table, no differentials
    untyped = data_set_for("Grade Book Settings")
    assert untyped.table == "grade_book_settings" and not untyped.primary_key
    assert plan_extracts(untyped, fulls, diffs, None) == type(first)(fulls[1], [])
    assert plan_extracts(untyped, fulls, diffs, fulls[1].watermark()).last is None
    with pytest.raises(LmsApiError, match="no Full extract"):
        plan_extracts(posts, [], diffs, None)
