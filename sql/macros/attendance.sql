{#
  Counts and rates over attendance records (int_attendance_records_unioned columns). Rates leave
  out excused (and unrecognised) marks: attendance_rate = (present + late) / (present + late + absent).
#}
{% macro attendance_counts() %}
        count(*) as recorded_count,
        sum(present_count) as present_count,
        sum(late_count) as late_count,
        sum(absent_count) as absent_count,
        sum(excused_count) as excused_count,
        sum(other_count) as other_count,
        avg(credit_percent) as mean_credit_percent
{% endmacro %}

{% macro attendance_rates(relation=none) %}
  {%- set p = (relation ~ '.') if relation else '' -%}
        cast({{ p }}present_count + {{ p }}late_count as float8)
            / nullif({{ p }}present_count + {{ p }}late_count + {{ p }}absent_count, 0) as attendance_rate,
        cast({{ p }}present_count as float8)
            / nullif({{ p }}present_count + {{ p }}late_count + {{ p }}absent_count, 0) as present_rate,
        cast({{ p }}late_count as float8)
            / nullif({{ p }}present_count + {{ p }}late_count + {{ p }}absent_count, 0) as late_rate,
        cast({{ p }}absent_count as float8)
            / nullif({{ p }}present_count + {{ p }}late_count + {{ p }}absent_count, 0) as absence_rate
{% endmacro %}
