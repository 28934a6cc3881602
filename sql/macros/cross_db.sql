{# The few places where DuckDB and Postgres SQL differ, as adapter-dispatched macros. #}

{# One row per element of a JSON array of integers held as text (a set-returning select expression). #}
{% macro json_bigint_array_elements(json_text) %}
  {{ return(adapter.dispatch('json_bigint_array_elements', 'lms_warehouse')(json_text)) }}
{% endmacro %}

{% macro default__json_bigint_array_elements(json_text) %}
  cast(jsonb_array_elements_text(cast({{ json_text }} as jsonb)) as bigint)
{% endmacro %}

{% macro duckdb__json_bigint_array_elements(json_text) %}
  unnest(from_json(cast({{ json_text }} as json), '["BIGINT"]'))
{% endmacro %}


{# The first YYYY-MM-DD date written in a text, or NULL. #}
{% macro date_in_text(text) %}
  {{ return(adapter.dispatch('date_in_text', 'lms_warehouse')(text)) }}
{% endmacro %}

{% macro default__date_in_text(text) %}
  cast(substring({{ text }} from '[0-9]{4}-[0-9]{2}-[0-9]{2}') as date)
{% endmacro %}

{% macro duckdb__date_in_text(text) %}
  try_cast(nullif(regexp_extract({{ text }}, '[0-9]{4}-[0-9]{2}-[0-9]{2}', 0), '') as date)
{% endmacro %}


{# The UTC calendar date of a timestamp with time zone, whatever the session's time zone. #}
{% macro utc_date(timestamp) %}
  cast(({{ timestamp }} at time zone 'UTC') as date)
{% endmacro %}


{# The Monday starting the ISO week of a date. #}
{% macro week_start(date) %}
  cast(date_trunc('week', {{ date }}) as date)
{% endmacro %}


{# Integer keys as text, for the composite keys `lms-course-student`. #}
{% macro text_key() %}
  {%- set parts = [] -%}
  {%- for part in varargs -%}
    {%- do parts.append("coalesce(cast(" ~ part ~ " as text), '')") -%}
  {%- endfor -%}
  {{ parts | join(" || '-' || ") }}
{% endmacro %}


{# 2 to the power `exponent`, exact (a decimal(38, 0), good up to 2^126). #}
{% macro power_of_two(exponent) %}
  {{ return(adapter.dispatch('power_of_two', 'lms_warehouse')(exponent)) }}
{% endmacro %}

{% macro default__power_of_two(exponent) %}
  cast(power(cast(2 as numeric), {{ exponent }}) as decimal(38, 0))
{% endmacro %}

{% macro duckdb__power_of_two(exponent) %}
  cast(power(2, {{ exponent }}) as decimal(38, 0))
{% endmacro %}
