"""The Brightspace Data Sets this source types: name, table, key and column types of each.

Columns, keys and types follow D2L's BDS schema pages (docs/brightspace-api.md §5.6, §6.1; the full column
lists from mforest-gsu/d2l-datahub-cli:schema/datasets/all.json, which mirrors D2L's pages). BDS types map
to dlt types: int/bigint/smallint -> bigint, decimal/float -> double, bit -> bool, datetime2 -> timestamp
(UTC), everything else text. A data set not listed here still loads by name, every column as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dlt.common.normalizers.naming.snake_case import NamingConvention

_naming = NamingConvention()

# the OAuth scope and role permission a data set needs (docs/brightspace-api.md §1.1; KB 1130)
BDS_SCOPE_HINT = (
    "grant the OAuth app the scope datasets:bds:read (or datahub:*:*) and its user the Data Hub role "
    "permission to see this data set"
)
ADS_SCOPE_HINT = (
    "grant the OAuth app the scopes datahub:dataexports:read and datahub:dataexports:download "
    "(or datahub:*:*) and its user the permission to run this Advanced Data Set"
)


@dataclass(frozen=True)
class DataHubSet:
    """A Brightspace Data Set as this source loads it.

    Attributes:
        name: the data set's name in the BDS catalogue (`datasets/bds`, Full plugin Name).
        table: the table it loads into.
        primary_key: its key columns (CSV names); empty for an untyped set (loaded whole).
        types: dlt data type of each CSV column (CSV names); unlisted columns are text.
    """

    name: str
    table: str
    primary_key: tuple[str, ...]
    types: dict[str, str] = field(default_factory=dict)

    @property
    def has_is_deleted(self) -> bool:
        """Whether deleted rows arrive flagged (IsDeleted) in differentials."""
        return "IsDeleted" in self.types


def _set(name: str, table: str, key: str, **by_type: str) -> DataHubSet:
    types = {column: data_type for data_type, columns in by_type.items() for column in columns.split()}
    return DataHubSet(name, table, tuple(key.split()), types)


BDS_DATA_SETS: tuple[DataHubSet, ...] = (
    _set(
        "Users",
        "bds_users",
        "UserId",
        bigint="UserId OrgRoleId Version",
        text="UserName OrgDefinedId FirstName MiddleName LastName Organization ExternalEmail",
        bool="IsActive",
        timestamp="SignupDate FirstLoginDate LastAccessed",
    ),
    _set(
        "Organizational Units",
        "bds_org_units",
        "OrgUnitId",
        bigint="OrgUnitId Version OrgUnitTypeId",
        text="Organization Type Name Code",
        bool="IsActive IsDeleted",
        timestamp="StartDate EndDate CreatedDate DeletedDate RecycledDate",
    ),
    _set(
        "User Enrollments",
        "bds_user_enrollments",
        "OrgUnitId UserId",
        bigint="OrgUnitId UserId RoleId",
        text="RoleName EnrollmentType",
        timestamp="EnrollmentDate",
    ),
    _set(
        "Grade Objects",
        "bds_grade_objects",
        "GradeObjectId",
        bigint="GradeObjectId OrgUnitId ParentGradeObjectId GradeSchemeId NumLowestGradesToDrop "
        "NumHighestGradesToDrop AssociatedToolItemId GradeObjectTypeId SortOrder DeletedByUserId ResultId",
        text="Name TypeName WeightDistributionType ToolName ShortName",
        bool="IsAutoPointed IsFormula IsBonus CanExceedMaxGrade ExcludeFromFinalGradeCalc IsDeleted",
        double="MaxPoints Weight",
        timestamp="StartDate EndDate CreatedDate LastModified DeletedDate",
    ),
    # IsExempt lives only here: the REST grade values do not say whether a blank is an exemption,
    # which the course-grade models need in "treat ungraded as 0" books
    _set(
        "Grade Results",
        "grade_results",
        "GradeObjectId OrgUnitId UserId",
        bigint="GradeObjectId OrgUnitId UserId LastModifiedBy Version",
        double="PointsNumerator PointsDenominator WeightedNumerator WeightedDenominator",
        bool="IsReleased IsDropped IsExempt",
        text="Comments PrivateComments GradeText",
        timestamp="LastModified GradeReleasedDate",
    ),
    _set(
        "Attendance Registers",
        "attendance_registers",
        "AttendanceRegisterId",
        bigint="AttendanceRegisterId OrgUnitId SchemeId Version",
        text="Name Description",
        bool="IsVisible IncludeAllUsers",
        double="CauseForConcern",
    ),
    _set(
        "Attendance Sessions",
        "attendance_sessions",
        "AttendanceSessionId",
        bigint="AttendanceSessionId AttendanceRegisterId SortOrder Version",
        text="Name Description",
    ),
    _set(
        "Attendance User Sessions",
        "attendance_user_sessions",
        "UserId AttendanceSessionId",
        bigint="UserId AttendanceSessionId SchemeSymbolId LastModifiedBy",
        timestamp="LastModified",
    ),
    _set(
        "Attendance Schemes",
        "attendance_schemes",
        "SchemeId SchemeSymbolId",
        bigint="SchemeId OrgUnitId SchemeSymbolId Version",
        text="SchemeName SymbolName SymbolValue",
        double="Percentage",
    ),
    _set(
        "Content User Progress",
        "bds_content_user_progress",
        "ContentObjectId UserId",
        bigint="ContentObjectId UserId NumRealVisits NumFakeVisits TotalTime",
        bool="IsRead IsVisited IsCurrentBookmark IsSelfAssessComplete",
        timestamp="CompletedDate LastVisited LastModified",
    ),
    _set(
        "Course Access",
        "course_access",
        "OrgUnitId UserId DayAccessed",
        bigint="OrgUnitId UserId",
        timestamp="DayAccessed",
    ),
    _set(
        "Quiz Attempts",
        "quiz_attempts",
        "AttemptId",
        bigint="AttemptId QuizId UserId OrgUnitId AttemptNumber OldAttemptNumber TimeLimit GracePeriod "
        "ExtendedDeadline",
        timestamp="TimeStarted TimeCompleted DueDate",
        double="Score PossibleScore",
        bool="IsGraded IsDeleted IsRetakeIncorrectOnly TimeLimitEnforced",
        text="GracePeriodExceededBehaviour",
    ),
    _set(
        "Discussion Posts",
        "discussion_posts",
        "PostId",
        bigint="OrgUnitId TopicId UserId PostId ThreadId ParentPostId NumReplies RatingSum NumRatings "
        "SortOrder Depth WordCount AttachmentCount",
        bool="IsReply IsDeleted",
        timestamp="DatePosted LastEditDate",
        double="Score",
        text="Thread",
    ),
    _set(
        "Assignment Submissions",
        "assignment_submissions",
        "DropboxId SubmitterId",
        bigint="DropboxId OrgUnitId SubmitterId FileSubmissionCount TotalFileSize FeedbackUserId",
        text="SubmitterType Feedback",
        bool="FeedbackIsRead IsGraded",
        double="Score",
        timestamp="LastSubmissionDate FeedbackLastModified FeedbackReadDate CompletionDate",
    ),
    _set(
        "Enrollments and Withdrawals",
        "enrollments_and_withdrawals",
        "LogId",
        bigint="LogId UserId OrgUnitId RoleId ModifiedByUserId",
        text="Action EnrollmentType",
        timestamp="EnrollmentDate",
    ),
    _set(
        "Grade Schemes",
        "grade_schemes",
        "GradeSchemeId GradeSchemeRangeId",
        bigint="GradeSchemeId OrgUnitId GradeSchemeRangeId Version",
        text="SchemeName",
        bool="IsDeleted",
        timestamp="DeletedDate",
    ),
)
BDS_BY_NAME = {d.name.lower(): d for d in BDS_DATA_SETS}
BDS_BY_TABLE = {d.table: d for d in BDS_DATA_SETS}
# the data sets a run loads unless `data_sets` says otherwise: every typed one
DEFAULT_DATA_SETS: tuple[str, ...] = tuple(d.name for d in BDS_DATA_SETS)
DEFAULT_DATA_SET_TABLES: tuple[str, ...] = tuple(d.table for d in BDS_DATA_SETS)


def table_name(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """The table of an untyped data set: its name in snake_case, `bds_`-prefixed if `taken`."""
    table = _naming.normalize_identifier(name)
    return f"bds_{table}" if table in taken else table


def data_set_for(name: str, taken: set[str] | frozenset[str] = frozenset()) -> DataHubSet:
    """The typed data set of this name, or an untyped one (text columns, no key)."""
    typed = BDS_BY_NAME.get(name.strip().lower())
    return typed if typed is not None else DataHubSet(name.strip(), table_name(name, taken), ())


def ads_table_name(name: str) -> str:
    """The table of an Advanced Data Set: `ads_` and its name in snake_case."""
    return f"ads_{_naming.normalize_identifier(name)}"
