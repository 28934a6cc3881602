{# Canvas Data 2 helpers: the REST-or-CD2 switch, and JSON and time arithmetic on both warehouses. #}

{#
  The Canvas staging model the intermediate models read: stg_canvas__<name> (REST, the default) or
  stg_canvas_data2__<name> when the dbt var canvas_channel is 'cd2' (the Canvas Data 2 pipeline
  sets it). Both shape their rows alike, so the marts are the same whichever channel loaded.
#}
{% macro canvas_staging(name) %}
  {%- set channel = var('canvas_channel', 'rest') -%}
  {%- if channel == 'cd2' -%}
    {{ return(ref('stg_canvas_data2__' ~ name)) }}
  {%- elif channel == 'rest' -%}
    {{ return(ref('stg_canvas__' ~ name)) }}
  {%- else -%}
    {{ exceptions.raise_compiler_error("dbt var canvas_channel must be 'rest' or 'cd2', not '" ~ channel ~ "'") }}
  {%- endif -%}
{% endmacro %}


{# A top-level scalar of a JSON object held as text, as text (NULL when absent). #}
{% macro json_text_field(json_text, key) %}
  {{ return(adapter.dispatch('json_text_field', 'lms_warehouse')(json_text, key)) }}
{% endmacro %}

{% macro default__json_text_field(json_text, key) %}
  (cast({{ json_text }} as jsonb) ->> '{{ key }}')
{% endmacro %}

{% macro duckdb__json_text_field(json_text, key) %}
  json_extract_string(cast({{ json_text }} as json), '$.{{ key }}')
{% endmacro %}


{# A top-level value of a JSON object held as text, as JSON text (NULL when absent). #}
{% macro json_value_text(json_text, key) %}
  {{ return(adapter.dispatch('json_value_text', 'lms_warehouse')(json_text, key)) }}
{% endmacro %}

{% macro default__json_value_text(json_text, key) %}
  cast(cast({{ json_text }} as jsonb) -> '{{ key }}' as text)
{% endmacro %}

{% macro duckdb__json_value_text(json_text, key) %}
  cast(json_extract(cast({{ json_text }} as json), '$.{{ key }}') as varchar)
{% endmacro %}


{# Whole seconds from one timestamp to a later one. #}
{% macro seconds_between(start, finish) %}
  {{ return(adapter.dispatch('seconds_between', 'lms_warehouse')(start, finish)) }}
{% endmacro %}

{% macro default__seconds_between(start, finish) %}
  cast(extract(epoch from ({{ finish }} - {{ start }})) as bigint)
{% endmacro %}

{% macro duckdb__seconds_between(start, finish) %}
  date_diff('second', {{ start }}, {{ finish }})
{% endmacro %}


{# One row per assignment a Canvas assignment group's rules never drop (`rules.never_drop`, a JSON
   array of ids), from either channel's staged groups (`never_drop_json`). #}
{% macro assignment_group_never_drops(assignment_groups) %}
with assignment_groups as (
    select * from {{ assignment_groups }}
),

unnested as (
    select
        assignment_group_id,
        course_id,
        {{ json_bigint_array_elements('never_drop_json') }} as assignment_id
    from assignment_groups
    where never_drop_json is not null
      and never_drop_json not in ('', '[]', 'null')
),

deduplicated as (
    select distinct
        assignment_group_id,
        course_id,
        assignment_id
    from unnested
)

select * from deduplicated
{% endmacro %}
