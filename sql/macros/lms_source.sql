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
    {%- set found = adapter.get_relation(
          database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- if found is not none -%}
      {%- set existing = [] -%}
      {%- for column in adapter.get_columns_in_relation(found) -%}
        {%- do existing.append(column.name | lower) -%}
      {%- endfor -%}
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


{# Whether a source table is loaded (false while parsing). #}
{% macro lms_source_exists(source_name, table_name) %}
  {%- set relation = source(source_name, table_name) -%}
  {%- if not execute -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
  {{ return(found is not none) }}
{% endmacro %}
