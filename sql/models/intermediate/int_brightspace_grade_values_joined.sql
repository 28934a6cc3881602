-- Brightspace gradebook rows: one per enrolled student x grade item, whether or not a value was
-- entered (a missing value is "ungraded", which the course's IsNullGradeZero may count as 0).
with enrollments as (
    select * from {{ ref('stg_brightspace__enrollments') }}
),

users as (
    select * from {{ ref('stg_brightspace__users') }}
),

courses as (
    select * from {{ ref('stg_brightspace__courses') }}
),

grade_objects as (
    select * from {{ ref('stg_brightspace__grade_objects') }}
),

grade_categories as (
    select * from {{ ref('stg_brightspace__grade_categories') }}
),

grade_values as (
    select * from {{ ref('stg_brightspace__grade_values') }}
),

grade_results as (
    select * from {{ ref('stg_brightspace__grade_results') }}
),

-- courses whose Data Hub Grade Results are loaded: only there is "exempt" known
courses_with_results as (
    select distinct course_id
    from grade_results
),

students as (
    select
        course_id,
        user_id as student_id,
        max(org_defined_id) as org_defined_id
    from enrollments
    where role = 'student'
    group by course_id, user_id
),

joined as (
    select
        'brightspace' as lms,
        students.course_id,
        courses.course_code as sis_course_id,
        students.student_id,
        coalesce(students.org_defined_id, users.org_defined_id) as sis_student_id,
        grade_objects.grade_object_id as item_id,
        grade_objects.grade_object_name as item_name,
        grade_objects.grade_type as item_type,
        grade_objects.category_id as group_id,
        grade_categories.category_name as group_name,
        grade_categories.category_weight as group_weight,
        -- an item's weight inside its category, as the category distributes it (B.3);
        -- an uncategorized item's own share of the final grade
        case
            when grade_objects.category_id is null then grade_objects.weight
            when grade_categories.weight_distribution = 'even' then 1
            when grade_categories.weight_distribution = 'points' then grade_objects.max_points
            else grade_objects.weight
        end as item_weight,
        grade_categories.weight_distribution,
        coalesce(grade_categories.drop_lowest, 0) as drop_lowest,
        coalesce(grade_categories.drop_highest, 0) as drop_highest,
        -- bonus items are never dropped (B.3)
        grade_objects.is_bonus as is_never_drop,
        grade_objects.max_points as points_possible,
        grade_values.points_numerator as score,
        grade_values.points_numerator as entered_score,
        cast(null as decimal(28, 8)) as points_deducted,
        grade_values.displayed_grade as grade,
        case
            when coalesce(grade_results.is_exempt, false) then 'exempt'
            when grade_values.points_numerator is not null then 'graded'
            when grade_values.student_id is not null then 'blank'
            else 'not_entered'
        end as submission_state,
        grade_values.points_numerator is not null as is_graded,
        -- Brightspace grades carry no late or missing status
        cast(null as boolean) as is_late,
        cast(null as boolean) as is_missing,
        coalesce(grade_results.is_exempt, false) as is_excused,
        grade_values.student_id is null as is_unsubmitted,
        courses_with_results.course_id is not null as is_exemption_known,
        false as is_pending_review,
        grade_values.released_at is not null as is_posted,
        grade_objects.is_bonus,
        not grade_objects.is_hidden as is_item_published,
        grade_objects.is_computable as is_gradeable,
        (
            grade_objects.is_excluded_from_final_grade
            or coalesce(grade_categories.is_excluded_from_final_grade, false)
        ) as is_omitted_from_final_grade,
        grade_objects.category_id is null or grade_categories.category_id is not null as is_in_active_group,
        grade_objects.can_exceed_max_points as can_exceed_points,
        coalesce(grade_categories.can_exceed_max, false) as can_exceed_group_max,
        cast(null as timestamptz) as due_at,
        cast(null as timestamptz) as submitted_at,
        case when grade_values.points_numerator is not null then grade_values.last_modified_at end as graded_at,
        grade_values.released_at as posted_at
    from students
    inner join grade_objects
        on students.course_id = grade_objects.course_id
    left join grade_categories
        on grade_objects.course_id = grade_categories.course_id
        and grade_objects.category_id = grade_categories.category_id
    left join grade_values
        on grade_objects.course_id = grade_values.course_id
        and grade_objects.grade_object_id = grade_values.grade_object_id
        and students.student_id = grade_values.student_id
    left join grade_results
        on grade_objects.course_id = grade_results.course_id
        and grade_objects.grade_object_id = grade_results.grade_object_id
        and students.student_id = grade_results.student_id
    left join courses_with_results
        on students.course_id = courses_with_results.course_id
    left join courses
        on students.course_id = courses.course_id
    left join users
        on students.student_id = users.user_id
)

select * from joined
