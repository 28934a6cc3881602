{#
  Comparing a kept subset's ratio score / possible the way Canvas's drop rules do
  (sandbox/canvas/grades.py `_exceeds`): exactly, by cross-multiplying decimals, when both
  subsets have points; otherwise a subset worth 0 points ranks as +inf, -inf or 0 by its score.
#}

{% macro ratio_sort_key(score, possible) %}
  cast(case
    when {{ possible }} > 0 then {{ score }} / {{ possible }}
    when {{ score }} > 0 then 1e30
    when {{ score }} < 0 then -1e30
    else 0
  end as float8)
{% endmacro %}

{# `left` op `right` for two candidate rows (kept_score, kept_possible, ratio_key); op is >, < or =. #}
{% macro ratio_compare(left, right, op) %}
  (case
    when {{ left }}.kept_possible > 0 and {{ right }}.kept_possible > 0
      then {{ left }}.kept_score * {{ right }}.kept_possible {{ op }} {{ right }}.kept_score * {{ left }}.kept_possible
    else {{ left }}.ratio_key {{ op }} {{ right }}.ratio_key
  end)
{% endmacro %}
