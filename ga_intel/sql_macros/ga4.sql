{#- Macros for BigQuery SQL over the GA4 export (imported by ga_intel/ga4/sql/*.sql).

Every UNNEST is aliased: the BigQuery emulator, and some BigQuery planners, reject the
unqualified `(SELECT value.int_value FROM UNNEST(event_params) WHERE key = …)`. -#}

{#- One event parameter (dbt-ga4's unnest_key). `key` is SQL: a quoted literal or a bound
    @parameter. `type`: string, int, double, or number (any numeric slot, as FLOAT64). -#}
{% macro param(key, type='string') -%}
{%- if type == 'number' -%}
(SELECT COALESCE(p.value.double_value, p.value.float_value, CAST(p.value.int_value AS FLOAT64)) FROM UNNEST(event_params) AS p WHERE p.key = {{ key }})
{%- elif type == 'any_string' -%}
(SELECT COALESCE(p.value.string_value, CAST(p.value.int_value AS STRING)) FROM UNNEST(event_params) AS p WHERE p.key = {{ key }})
{%- else -%}
(SELECT p.value.{{ type }}_value FROM UNNEST(event_params) AS p WHERE p.key = {{ key }})
{%- endif -%}
{%- endmacro %}

{#- One user property, as a string whatever slot it was set in. -#}
{% macro user_property(key) -%}
(SELECT COALESCE(u.value.string_value, CAST(u.value.int_value AS STRING)) FROM UNNEST(user_properties) AS u WHERE u.key = {{ key }})
{%- endmacro %}

{#- A money amount a visitor's browser sent: kept when finite, >= 0 and below 1e10
    (numeric(14,2) holds < 1e12; anything near that is a bad hit, not an order), else NULL.
    One bad hit must never fail a tenant's day (docs/METRICS.md, "Bad values"). -#}
{% macro money(expr) -%}
(SELECT IF(NOT IS_NAN(v) AND v >= 0 AND v < 1e10, v, NULL) FROM UNNEST([{{ expr }}]) AS v)
{%- endmacro %}

{#- A money amount is bad when present but not kept by money(). -#}
{% macro bad_money(expr) -%}
(SELECT v IS NOT NULL AND (IS_NAN(v) OR v < 0 OR v >= 1e10) FROM UNNEST([{{ expr }}]) AS v)
{%- endmacro %}

{#- An item quantity: kept when 0 <= q <= 10,000,000 (PostgreSQL integer), else NULL. -#}
{% macro quantity(expr) -%}
(SELECT IF(v BETWEEN 0 AND 10000000, v, NULL) FROM UNNEST([{{ expr }}]) AS v)
{%- endmacro %}

{% macro bad_quantity(expr) -%}
(SELECT v IS NOT NULL AND NOT v BETWEEN 0 AND 10000000 FROM UNNEST([{{ expr }}]) AS v)
{%- endmacro %}

{#- Item values of the events in `source` (a CTE of events with an `event_n` id and an
    `event_value` column), one row per item: an item's value is price × quantity (a null
    quantity counts as 1); items without a price share what the event's value leaves after
    the priced items, in proportion to their quantity; they never each take all of it.
    `explicit` is an item-level amount GA4 may already give (item_revenue), used first. -#}
{% macro item_values(source, explicit=none, explicit_usd=none) -%}
items_raw AS (
  SELECT e.*, pos AS line_no, i.item_id, i.item_name, i.item_brand, i.item_category,
         {{ money('i.price') }} AS price, {{ money('i.price_in_usd') }} AS price_in_usd,
         COALESCE({{ quantity('i.quantity') }}, 1) AS quantity,
         {{ money(explicit) if explicit else 'CAST(NULL AS FLOAT64)' }} AS explicit_value,
         {{ money(explicit_usd) if explicit_usd else 'CAST(NULL AS FLOAT64)' }} AS explicit_value_in_usd
  FROM {{ source }} AS e, UNNEST(e.items) AS i WITH OFFSET AS pos
),
items_priced AS (
  -- price and quantity can each be in range while their product is not (a hostile hit):
  -- the product goes through money() too (sql/day_quality.sql counts it as bad_item_value)
  SELECT *,
    COALESCE(explicit_value, {{ money('price * quantity') }}) AS priced_value,
    COALESCE(explicit_value_in_usd, {{ money('price_in_usd * quantity') }}) AS priced_value_in_usd
  FROM items_raw
),
items_shared AS (
  SELECT *,
    SUM(priced_value) OVER ev AS priced_total,
    SUM(IF(priced_value IS NULL, quantity, 0)) OVER ev AS unpriced_quantity,
    SUM(priced_value_in_usd) OVER ev AS priced_total_in_usd,
    SUM(IF(priced_value_in_usd IS NULL, quantity, 0)) OVER ev AS unpriced_quantity_in_usd
  FROM items_priced
  WINDOW ev AS (PARTITION BY event_n)
),
item_values AS (
  SELECT *,
    COALESCE(priced_value,
             GREATEST(event_value - COALESCE(priced_total, 0), 0) * quantity / NULLIF(unpriced_quantity, 0)) AS value,
    COALESCE(priced_value_in_usd,
             GREATEST(event_value_in_usd - COALESCE(priced_total_in_usd, 0), 0) * quantity
               / NULLIF(unpriced_quantity_in_usd, 0)) AS value_in_usd
  FROM items_shared
)
{%- endmacro %}
