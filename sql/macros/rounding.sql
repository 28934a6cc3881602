{#
  Rounding to `places` decimals. Grade arithmetic runs in exact decimals where it decides ties
  (drop rules) and in floating point after divisions; a value at an exact half then sits within
  ~1e-12 of it, so a small guard (far below any real difference between two grades) lets the
  rounding see the half that the exact arithmetic of the LMS sees.
#}

{# Half away from zero: Canvas (Ruby BigDecimal -> Float#round, big.js ROUND_HALF_UP). #}
{% macro round_half_up(value, places=2) %}
  (sign({{ value }}) * floor(abs({{ value }}) * {{ 10 ** places }} + 0.5 + 1e-6) / {{ 10 ** places }})
{% endmacro %}

{# Half to even: Brightspace's displayed grades (docs/grade-calculation.md B.6). #}
{% macro round_half_even(value, places=2) %}
  (case
    when abs(abs({{ value }}) * {{ 10 ** places }} - floor(abs({{ value }}) * {{ 10 ** places }}) - 0.5) < 1e-6
      then sign({{ value }})
        * (floor(abs({{ value }}) * {{ 10 ** places }})
           + cast(floor(abs({{ value }}) * {{ 10 ** places }}) as bigint) % 2)
        / {{ 10 ** places }}
    else sign({{ value }}) * floor(abs({{ value }}) * {{ 10 ** places }} + 0.5) / {{ 10 ** places }}
  end)
{% endmacro %}
