-- The SIS roster against the LMS's enrollments, one row per SIS course x SIS user on either side
-- (per LMS: a roster is compared with the LMS whose dataset it was loaded into):
--   missing_in_lms  the SIS enrolls them (not deleted) and the LMS has no enrollment at all;
--   extra_in_lms    the LMS has a live enrollment the SIS does not list;
--   state_mismatch  both list it, with different statuses (Canvas states in SIS words:
--                   active/invited -> active, completed, inactive, deleted); Brightspace
--                   enrollments have no state, so there only an SIS "deleted" mismatches;
--   in_sync         the same status on both sides, or deleted on the only side that lists it;
--   course_not_in_lms  the roster's course is not among the LMS courses loaded (not created yet,
--                   or outside the shard this warehouse holds): nothing to compare it with.
-- Only courses the roster mentions are audited: a course the SIS does not manage (a sandbox
-- shell) is not "extra".
with roster as (
    select * from {{ ref('int_sis_roster_unioned') }}
),

courses as (
    select * from {{ ref('int_courses_unioned') }}
),

enrollments as (
    select * from {{ ref('int_enrollments_unioned') }}
    where role in ('student', 'teacher', 'ta', 'designer')
      and sis_course_id is not null
      and sis_user_id is not null
),

lms_pairs_ranked as (
    select
        enrollments.*,
        case
            when lms = 'brightspace' then 'enrolled'
            when enrollment_state in ('active', 'invited', 'creation_pending') then 'active'
            when enrollment_state in ('completed', 'inactive', 'deleted') then enrollment_state
            when enrollment_state = 'rejected' then 'deleted'
            else 'active'
        end as lms_status,
        row_number() over (
            partition by lms, sis_course_id, sis_user_id
            order by
                case enrollment_state
                    when 'active' then 1 when 'invited' then 2 when 'creation_pending' then 3
                    when 'inactive' then 4 when 'completed' then 5 else 6
                end,
                role
        ) as pair_order
    from enrollments
),

lms_pairs as (
    select * from lms_pairs_ranked
    where pair_order = 1
),

loaded_courses as (
    select distinct lms, sis_course_id
    from courses
    where sis_course_id is not null
),

audited_courses as (
    select distinct lms, sis_course_id
    from roster
),

lms_in_scope as (
    select lms_pairs.*
    from lms_pairs
    inner join audited_courses
        on lms_pairs.lms = audited_courses.lms
        and lms_pairs.sis_course_id = audited_courses.sis_course_id
),

compared as (
    select
        coalesce(roster.lms, lms_in_scope.lms) as lms,
        coalesce(roster.sis_course_id, lms_in_scope.sis_course_id) as sis_course_id,
        coalesce(roster.sis_user_id, lms_in_scope.sis_user_id) as sis_user_id,
        roster.roster_role,
        roster.roster_status,
        roster.sis_section_id as roster_sis_section_id,
        roster.roster_row_count,
        lms_in_scope.course_id,
        lms_in_scope.person_id,
        lms_in_scope.role as lms_role,
        lms_in_scope.enrollment_state as lms_enrollment_state,
        lms_in_scope.lms_status,
        lms_in_scope.sis_section_id as lms_sis_section_id,
        roster.sis_user_id is not null as is_in_roster,
        lms_in_scope.sis_user_id is not null as is_in_lms,
        lms_in_scope.sis_user_id is not null or loaded_courses.sis_course_id is not null as is_course_in_lms
    from roster
    full outer join lms_in_scope
        on roster.lms = lms_in_scope.lms
        and roster.sis_course_id = lms_in_scope.sis_course_id
        and roster.sis_user_id = lms_in_scope.sis_user_id
    left join loaded_courses
        on roster.lms = loaded_courses.lms
        and roster.sis_course_id = loaded_courses.sis_course_id
),

classified as (
    select
        {{ text_key('lms', 'sis_course_id', 'sis_user_id') }} as enrollment_audit_key,
        compared.*,
        case
            when not is_course_in_lms then 'course_not_in_lms'
            when not is_in_lms and roster_status <> 'deleted' then 'missing_in_lms'
            when not is_in_roster and lms_status <> 'deleted' then 'extra_in_lms'
            when is_in_lms and is_in_roster and lms_status = 'enrolled' and roster_status = 'deleted'
                then 'state_mismatch'
            when is_in_lms and is_in_roster and lms_status <> 'enrolled' and lms_status <> roster_status
                then 'state_mismatch'
            else 'in_sync'
        end as audit_status,
        is_in_lms and is_in_roster
            and (case when roster_role = 'instructor' then 'teacher' else roster_role end) <> lms_role
            as has_role_mismatch
    from compared
)

select * from classified
