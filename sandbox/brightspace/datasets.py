"""Brightspace Data Sets: each set's columns (from the BDS schema), key, and rows as the sandbox holds them.

Column names and order follow the BDS schema files (mforest-gsu/d2l-datahub-cli:schema/datasets/*.json,
cited in docs/brightspace-api.md §6.1). Rows are typed Python values (int, float, bool, str, None;
date-times as UTC strings) paired with the instant the row last changed, which is what a
differential extract filters on.

Choices (UNCONFIRMED where the reference is silent):
- Users: the full extract also holds the system user (UserId 0), as the schema says; differentials
  never do. LastAccessed falls back to the sign-up date for users who never logged in (schema text).
- Grade Objects holds the categories too (TypeName "Category", GradeObjectTypeId 9): the schema calls
  categories parent grade objects. Final Calculated Grade objects are not listed.
- Grade Results holds one row per value record of an enrolled student (graded, exempt, or a record
  without points); category and final grade results are not listed. IsDropped is computed by the
  course's grade calculation at extract time.
- A dropped enrollment disappears from full extracts; differential extracts cannot express it.
- The "changed" instant of rows without a LastModified column is their creation (Version).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import bds_rows
from .attendance import SCHEMES
from .bds_rows import HubEvents
from .gradebook import BLANK, CATEGORY, EXEMPT, GRADED, NO_VALUE, PASS_FAIL
from .institution import ORGANIZATION_NAME, ROOT_ORG_UNIT_ID, Course, Institution
from .shapes import DISTRIBUTION_NAMES, number
from .timestamps import to_utc_string

Value = int | float | bool | str | None
Row = tuple[int, list[Value]]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rows an extract covers: full or changed in [since, until), and which courses."""

    courses: list[Course]
    org_unit_ids: set[int]
    since: float | None = None
    until: float | None = None
    events: HubEvents | None = None

    @property
    def full(self) -> bool:
        """Whether this is a full extract (no start date)."""
        return self.since is None

    def wants(self, changed_at: int) -> bool:
        """Whether a row that last changed at `changed_at` belongs to the extract."""
        if self.since is not None and changed_at < self.since:
            return False
        return self.until is None or changed_at < self.until


@dataclass(frozen=True, slots=True)
class DataSet:
    """One Brightspace Data Set."""

    name: str
    description: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    rows: Callable[[Institution, Scope], Iterator[Row]]
    plugin_id: str
    differential_plugin_id: str
    schema_id: str

    @property
    def file_stem(self) -> str:
        """The CSV/ZIP file name without extension ("GradeResults")."""
        return self.name.replace(" ", "")

    @property
    def has_is_deleted(self) -> bool:
        """Whether the data set flags deleted rows (IsDeleted) instead of dropping them."""
        return "IsDeleted" in self.columns


def _users(inst: Institution, scope: Scope) -> Iterator[Row]:
    root = inst.org_units[ROOT_ORG_UNIT_ID]
    if scope.full:
        yield (
            root.created,
            [
                0,
                "system",
                None,
                "System",
                None,
                "User",
                True,
                ORGANIZATION_NAME,
                None,
                to_utc_string(root.created),
                None,
                root.created,
                None,
                to_utc_string(root.created),
            ],
        )
    for uid in inst.user_ids:
        u = inst.users[uid]
        yield (
            u.signup,
            [
                u.id,
                u.user_name,
                u.org_defined_id,
                u.first_name,
                u.middle_name,
                u.last_name,
                u.is_active,
                ORGANIZATION_NAME,
                u.email,
                to_utc_string(u.signup),
                to_utc_string(u.first_login),
                u.signup,
                u.org_role.id,
                to_utc_string(u.last_accessed if u.last_accessed is not None else u.signup),
            ],
        )


def _org_units(inst: Institution, scope: Scope) -> Iterator[Row]:
    for ou in inst.org_unit_ids:
        if ou not in scope.org_unit_ids:
            continue
        unit = inst.org_units[ou]
        yield (
            unit.created,
            [
                unit.id,
                ORGANIZATION_NAME,
                unit.type.name,
                unit.name,
                unit.code,
                to_utc_string(unit.start),
                to_utc_string(unit.end),
                unit.is_active,
                to_utc_string(unit.created),
                False,
                None,
                None,
                unit.created,
                unit.type.id,
            ],
        )


def _user_enrollments(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        for uid in course.enrolled_user_ids():
            e = course.enrollments[uid]
            yield (
                e.enrolled_at,
                [
                    e.org_unit_id,
                    e.user_id,
                    e.role.name,
                    to_utc_string(e.enrolled_at),
                    "Explicit",
                    e.role.id,
                ],
            )


def _grade_objects(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        book = inst.gradebook(course)
        for c in book.categories:
            yield (
                c.created,
                [
                    c.id,
                    book.ou,
                    None,
                    c.name,
                    "Category",
                    None,
                    None,
                    True,
                    False,
                    False,
                    number(c.max_points),
                    c.can_exceed,
                    c.excluded,
                    None,
                    number(c.weight),
                    c.drop_lowest,
                    c.drop_highest,
                    DISTRIBUTION_NAMES[c.distribution],
                    to_utc_string(c.created),
                    None,
                    None,
                    to_utc_string(c.created),
                    c.short_name,
                    CATEGORY,
                    c.sort_order,
                    False,
                    None,
                    None,
                    None,
                ],
            )
        for i in book.items:
            yield (
                i.created,
                [
                    i.id,
                    book.ou,
                    i.category_id,
                    i.name,
                    i.type_name,
                    None,
                    to_utc_string(i.due),
                    False,
                    False,
                    i.is_bonus,
                    number(i.max_points),
                    i.can_exceed,
                    i.excluded,
                    None,
                    number(round(i.served_weight, 9)),
                    0,
                    0,
                    None,
                    to_utc_string(i.created),
                    i.tool,
                    i.id if i.tool else None,
                    to_utc_string(i.created),
                    i.short_name,
                    i.type_id,
                    i.sort_order,
                    False,
                    None,
                    None,
                    None,
                ],
            )


def _grade_results(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        book = inst.gradebook(course)
        students = range(len(book.students))
        dropped = [book.final(s).dropped if book.enrolled[s] else frozenset() for s in students]
        for k, item in enumerate(book.items):
            states, points, modified = book.state[k], book.points[k], book.modified[k]
            share = book.shares[k]
            maximum = item.max_points
            pass_fail = item.type_id == PASS_FAIL
            for s in students:
                state = states[s]
                if state == NO_VALUE or not book.enrolled[s] or not scope.wants(modified[s]):
                    continue
                when = to_utc_string(modified[s])
                if state == GRADED:
                    value = points[s]
                    released = book.is_released(k, s)
                    text = ("Pass" if value else "Fail") if pass_fail else f"{value:g} / {maximum:g}"
                    weighted = (share * value / maximum, share) if share is not None else (None, None)
                    graded = [value, maximum, *weighted, released]
                else:
                    released, text = False, None
                    graded = [None, None if state in (BLANK, EXEMPT) else maximum, None, None, None]
                yield (
                    modified[s],
                    [
                        item.id,
                        book.ou,
                        book.students[s],
                        *graded,
                        item.id in dropped[s],
                        when,
                        book.grader(k, s),
                        book.comment(k, s) or None,
                        None,
                        state == EXEMPT,
                        text,
                        when if released else None,
                        modified[s],
                    ],
                )


def _gradebook_settings(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        book = inst.gradebook(course)
        yield (
            book.created,
            [
                book.ou,
                book.scheme_id,
                book.grading_system,
                "Treat ungraded items as 0" if book.null_is_zero else "Drop ungraded items",
                False,
                True,
                to_utc_string(book.created),
            ],
        )


def _attendance_registers(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        reg = inst.attendance(course)
        yield (
            reg.created,
            [
                reg.register_id,
                reg.org_unit_id,
                reg.name,
                reg.description,
                reg.scheme.id,
                reg.is_visible,
                reg.include_all_users,
                reg.cause_for_concern,
                reg.created,
            ],
        )


def _attendance_sessions(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        reg = inst.attendance(course)
        for session in reg.sessions:
            yield (
                reg.created,
                [
                    session.id,
                    reg.register_id,
                    session.name,
                    session.description,
                    session.sort_order,
                    reg.created,
                ],
            )


def _attendance_user_sessions(inst: Institution, scope: Scope) -> Iterator[Row]:
    for course in scope.courses:
        reg = inst.attendance(course)
        symbols = reg.scheme.symbols
        for j, session in enumerate(reg.sessions):
            marks, modified = reg.marks[j], reg.modified[j]
            for s, uid in enumerate(reg.students):
                mark = marks[s]
                if mark and scope.wants(modified[s]):
                    yield (
                        modified[s],
                        [
                            uid,
                            session.id,
                            symbols[mark - 1].id,
                            to_utc_string(modified[s]),
                            reg.marker,
                        ],
                    )


def _attendance_schemes(inst: Institution, scope: Scope) -> Iterator[Row]:
    for scheme in SCHEMES:
        for symbol in scheme.symbols:
            yield (
                scheme.created,
                [
                    scheme.id,
                    scheme.org_unit_id,
                    scheme.name,
                    symbol.id,
                    symbol.name,
                    symbol.value,
                    symbol.percentage,
                    scheme.created,
                ],
            )


# GUIDs of the four plugins in D2L's own sample (docs/brightspace-api.md §6.1); the rest are made up here.
_KNOWN_PLUGINS = {
    "Users": "1d6d722e-b572-456f-97c1-d526570daa6b",
    "Organizational Units": "07a9e561-e22f-4e82-8dd6-7bfb14c91776",
    "Grade Objects": "793668a8-2c58-4e5e-b263-412d28d5703f",
    "Grade Results": "9d8a96b4-8145-416d-bd18-11402bc58f8d",
}


def _guid(label: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.brightspace.local/bds/{label}"))


def _data_set(
    name: str, description: str, columns: str, key: str, rows: Callable[[Institution, Scope], Iterator[Row]]
) -> DataSet:
    return DataSet(
        name,
        description,
        tuple(columns.split()),
        tuple(key.split()),
        rows,
        _KNOWN_PLUGINS.get(name) or _guid(f"{name}/full"),
        _guid(f"{name}/differential"),
        _guid(f"{name}/schema"),
    )


DATA_SETS: tuple[DataSet, ...] = (
    _data_set(
        "Users",
        "The users in your organization.",
        "UserId UserName OrgDefinedId FirstName MiddleName LastName IsActive Organization ExternalEmail "
        "SignupDate FirstLoginDate Version OrgRoleId LastAccessed",
        "UserId",
        _users,
    ),
    _data_set(
        "Organizational Units",
        "Details about all org units within your organization.",
        "OrgUnitId Organization Type Name Code StartDate EndDate IsActive CreatedDate IsDeleted DeletedDate "
        "RecycledDate Version OrgUnitTypeId",
        "OrgUnitId",
        _org_units,
    ),
    _data_set(
        "User Enrollments",
        "The enrollments of all users in your organization.",
        "OrgUnitId UserId RoleName EnrollmentDate EnrollmentType RoleId",
        "OrgUnitId UserId",
        _user_enrollments,
    ),
    _data_set(
        "Grade Objects",
        "The grade objects (items and categories) created for your org units.",
        "GradeObjectId OrgUnitId ParentGradeObjectId Name TypeName StartDate EndDate IsAutoPointed IsFormula "
        "IsBonus MaxPoints CanExceedMaxGrade ExcludeFromFinalGradeCalc GradeSchemeId Weight "
        "NumLowestGradesToDrop NumHighestGradesToDrop WeightDistributionType CreatedDate ToolName "
        "AssociatedToolItemId LastModified ShortName GradeObjectTypeId SortOrder IsDeleted DeletedDate "
        "DeletedByUserId ResultId",
        "GradeObjectId",
        _grade_objects,
    ),
    _data_set(
        "Grade Results",
        "The grade results of every user on every grade object.",
        "GradeObjectId OrgUnitId UserId PointsNumerator PointsDenominator WeightedNumerator WeightedDenominator "
        "IsReleased IsDropped LastModified LastModifiedBy Comments PrivateComments IsExempt GradeText "
        "GradeReleasedDate Version",
        "GradeObjectId OrgUnitId UserId",
        _grade_results,
    ),
    _data_set(
        "Grade Book Settings",
        "The grade book settings of your org units.",
        "OrgUnitId GradeSchemeId GradingSystem UngradedItems IsAdjustedFinalGradeReleased "
        "IsCalculatedFinalGradeReleased LastModified",
        "OrgUnitId GradeSchemeId",
        _gradebook_settings,
    ),
    _data_set(
        "Attendance Registers",
        "The registers for taking attendance in your organization.",
        "AttendanceRegisterId OrgUnitId Name Description SchemeId IsVisible IncludeAllUsers CauseForConcern "
        "Version",
        "AttendanceRegisterId",
        _attendance_registers,
    ),
    _data_set(
        "Attendance Sessions",
        "The sessions of each attendance register.",
        "AttendanceSessionId AttendanceRegisterId Name Description SortOrder Version",
        "AttendanceSessionId",
        _attendance_sessions,
    ),
    _data_set(
        "Attendance User Sessions",
        "Each user's result for each session of each register.",
        "UserId AttendanceSessionId SchemeSymbolId LastModified LastModifiedBy",
        "UserId AttendanceSessionId",
        _attendance_user_sessions,
    ),
    _data_set(
        "Attendance Schemes",
        "The attendance schemes and their symbols.",
        "SchemeId OrgUnitId SchemeName SchemeSymbolId SymbolName SymbolValue Percentage Version",
        "SchemeId SchemeSymbolId",
        _attendance_schemes,
    ),
    _data_set(
        "Content User Progress",
        "Each user's progress on each content topic.",
        "ContentObjectId UserId CompletedDate LastVisited IsRead NumRealVisits NumFakeVisits TotalTime "
        "IsVisited IsCurrentBookmark IsSelfAssessComplete LastModified",
        "ContentObjectId UserId",
        bds_rows.content_user_progress,
    ),
    _data_set(
        "Course Access",
        "Each day each user accessed each course offering.",
        "OrgUnitId UserId DayAccessed",
        "OrgUnitId UserId DayAccessed",
        bds_rows.course_access,
    ),
    _data_set(
        "Quiz Attempts",
        "The quiz attempts of every user.",
        "AttemptId QuizId UserId OrgUnitId AttemptNumber TimeStarted TimeCompleted Score IsGraded "
        "OldAttemptNumber IsDeleted PossibleScore IsRetakeIncorrectOnly DueDate TimeLimit TimeLimitEnforced "
        "GracePeriod GracePeriodExceededBehaviour ExtendedDeadline",
        "AttemptId",
        bds_rows.quiz_attempts,
    ),
    _data_set(
        "Discussion Posts",
        "The posts of every discussion topic.",
        "OrgUnitId TopicId UserId PostId ThreadId IsReply ParentPostId NumReplies DatePosted IsDeleted "
        "RatingSum NumRatings Score LastEditDate SortOrder Depth Thread WordCount AttachmentCount",
        "PostId",
        bds_rows.discussion_posts,
    ),
    _data_set(
        "Assignment Submissions",
        "The submissions to every assignment folder.",
        "DropboxId OrgUnitId SubmitterId SubmitterType FileSubmissionCount TotalFileSize FeedbackUserId "
        "FeedbackIsRead Score IsGraded LastSubmissionDate Feedback FeedbackLastModified FeedbackReadDate "
        "CompletionDate",
        "DropboxId SubmitterId",
        bds_rows.assignment_submissions,
    ),
    _data_set(
        "Enrollments and Withdrawals",
        "A log of every enrollment and withdrawal.",
        "LogId UserId OrgUnitId RoleId Action EnrollmentType ModifiedByUserId EnrollmentDate",
        "LogId",
        bds_rows.enrollments_and_withdrawals,
    ),
    _data_set(
        "Grade Schemes",
        "The grade schemes and their ranges.",
        "GradeSchemeId OrgUnitId SchemeName GradeSchemeRangeId IsDeleted DeletedDate Version",
        "GradeSchemeId GradeSchemeRangeId",
        bds_rows.grade_schemes,
    ),
)
DATA_SETS_BY_NAME = {d.name: d for d in DATA_SETS}


def scope_for(
    inst: Institution,
    parent_org_unit_id: int | None = None,
    since: float | None = None,
    until: float | None = None,
    frozen: bool = False,
    events: HubEvents | None = None,
) -> Scope:
    """The scope of an extract: everything, or the subtree under `parent_org_unit_id`.

    With `frozen`, the courses are snapshots, so rows can be produced without holding the lock
    while `advance()` changes the live data (users and org units never change after the build).
    """
    root = parent_org_unit_id if parent_org_unit_id is not None else ROOT_ORG_UNIT_ID
    units = {root, *inst.descendants(root)}
    courses = inst.courses_under(root)
    return Scope(inst.frozen(courses) if frozen else courses, units, since, until, events)


def rows_of(inst: Institution, data_set: DataSet, scope: Scope) -> Iterator[list[Value]]:
    """The rows an extract of `data_set` holds, in order."""
    for changed_at, row in data_set.rows(inst, scope):
        if scope.wants(changed_at):
            yield row
