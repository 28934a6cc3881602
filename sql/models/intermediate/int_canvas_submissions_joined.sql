-- Canvas gradebook rows: one per student x published assignment (Canvas serves a submission for
-- every assigned student, graded or not), with the assignment, its group and its drop rules.
with submissions as (
    select * from {{ canvas_staging('submissions') }}
),

assignments as (
    select * from {{ canvas_staging('assignments') }}
),

assignment_groups as (
    select * from {{ canvas_staging('assignment_groups') }}
),

never_drops as (
    select * from {{ canvas_staging('assignment_group_never_drops') }}
),

courses as (
    select * from {{ canvas_staging('courses') }}
),

users as (
    select * from {{ canvas_staging('users') }}
),

joined as (
    select
        'canvas' as lms,
        submissions.course_id,
        courses.sis_course_id,
        submissions.student_id,
        users.sis_user_id as sis_student_id,
        submissions.assignment_id as item_id,
        assignments.assignment_name as item_name,
        assignments.grading_type as item_type,
        assignments.assignment_group_id as group_id,
        assignment_groups.assignment_group_name as group_name,
        assignment_groups.group_weight,
        cast(null as decimal(28, 8)) as item_weight,
        cast(null as text) as weight_distribution,
        coalesce(assignment_groups.drop_lowest, 0) as drop_lowest,
        coalesce(assignment_groups.drop_highest, 0) as drop_highest,
        never_drops.assignment_id is not null as is_never_drop,
        assignments.points_possible,
        submissions.score,
        submissions.entered_score,
        submissions.points_deducted,
        submissions.grade,
        submissions.submission_state,
        submissions.score is not null as is_graded,
        submissions.is_late,
        submissions.is_missing,
        submissions.is_excused,
        submissions.is_unsubmitted,
        true as is_exemption_known,
        submissions.is_pending_review,
        submissions.posted_at is not null as is_posted,
        false as is_bonus,
        assignments.is_published as is_item_published,
        assignments.is_gradeable,
        assignments.is_omitted_from_final_grade,
        assignment_groups.assignment_group_id is not null as is_in_active_group,
        -- Canvas never caps a score at points possible
        true as can_exceed_points,
        true as can_exceed_group_max,
        coalesce(submissions.due_at, assignments.due_at) as due_at,
        submissions.submitted_at,
        submissions.graded_at,
        submissions.posted_at
    from submissions
    inner join assignments
        on submissions.assignment_id = assignments.assignment_id
    left join assignment_groups
        on assignments.assignment_group_id = assignment_groups.assignment_group_id
    left join never_drops
        on assignments.assignment_group_id = never_drops.assignment_group_id
        and assignments.assignment_id = never_drops.assignment_id
    left join courses
        on submissions.course_id = courses.course_id
    left join users
        on submissions.student_id = users.user_id
)

select * from joined
