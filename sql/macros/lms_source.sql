{#
  A loaded LMS table as a subquery with exactly `columns` ({name: type}), cast to those types.

  Why: a deployment may load one LMS only (the Canvas demo alone), a shard may not have loaded a
  table yet, and dlt creates a column only once it has seen a value. So a table that does not
  exist reads as zero rows, and a column that does not exist reads as NULL, instead of failing
  the run. source() is always called so dbt still records the lineage.
#}
{% macro lms_source(source_name, table_name, columns) %}
  {%- set relation = source(source_name, table_name) -%}
  {%- set existing = none -%}
  {%- if execute -%}
    {%- set found = lms_source_columns(relation) -%}
    {%- if found -%}
      {%- set existing = found -%}
    {%- endif -%}
  {%- endif -%}
  (
    select
    {%- for name, data_type in columns.items() %}
      {% if existing is not none and name in existing -%}
        cast({{ adapter.quote(name) }} as {{ data_type }})
      {%- else -%}
        cast(null as {{ data_type }})
      {%- endif %} as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    {% if existing is not none -%}
    from {{ relation }}
    {%- else -%}
    -- {{ relation }} is not loaded: no rows
    where 1 = 0
    {%- endif %}
  )
{% endmacro %}


{#
  The lower-cased column names of a loaded table; empty when the table does not exist.

  Asked of the database every time, never of dbt's relation cache: dbt fills that cache for a
  schema one relation at a time while other threads compile, and a table looked up meanwhile
  reads as missing (the Canvas courses once came out empty that way, failing every relationship
  test on course_key).
#}
{% macro lms_source_columns(relation) %}
  {%- set names = [] -%}
  {%- for column in adapter.get_columns_in_relation(relation) -%}
    {%- do names.append(column.name | lower) -%}
  {%- endfor -%}
  {{ return(names) }}
{% endmacro %}


{# Whether a source table is loaded (false while parsing). #}
{% macro lms_source_exists(source_name, table_name) %}
  {%- set relation = source(source_name, table_name) -%}
  {%- if not execute -%}
    {{ return(false) }}
  {%- endif -%}
  {{ return(lms_source_columns(relation) | length > 0) }}
{% endmacro %}
