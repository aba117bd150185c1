-- One row for the day: what the other queries dropped or cleaned, for the ga4_day checks.
-- A value a visitor's browser sent that cannot be a real amount (NaN, negative, 1e10 or
-- more; a quantity outside 0..10,000,000) is loaded as NULL and counted here, so one bad
-- hit never fails a tenant's day (ga_intel/sql_macros/ga4.sql).
-- Window sums picked off one row: the emulator cannot aggregate scalar-subquery columns.
{% import 'ga_intel/sql_macros/ga4.sql' as ga4 %}
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name']) }},
per_event AS (
  SELECT
    IF(copy_n > 1, 1, 0) AS duplicate,
    IF({{ ga4.bad_money('ecommerce.purchase_revenue') }}, 1, 0) AS bad_purchase_revenue,
    IF({{ ga4.bad_money('ecommerce.purchase_revenue_in_usd') }}, 1, 0) AS bad_purchase_revenue_in_usd,
    IF({{ ga4.bad_money('ecommerce.refund_value') }}, 1, 0) AS bad_refund_value,
    IF({{ ga4.bad_money('event_value_in_usd') }}, 1, 0) AS bad_event_value_in_usd,
    IF({{ ga4.bad_quantity('ecommerce.total_item_quantity') }}, 1, 0) AS bad_total_item_quantity,
    IF({{ ga4.bad_money(ga4.param("'value'", 'number')) }}, 1, 0) AS bad_value_param
  FROM ranked
),
per_item AS (
  SELECT
    IF({{ ga4.bad_money('i.price') }}, 1, 0) AS bad_item_price,
    IF({{ ga4.bad_money('i.item_revenue') }}, 1, 0) AS bad_item_revenue,
    IF({{ ga4.bad_quantity('i.quantity') }}, 1, 0) AS bad_item_quantity,
    -- price and quantity each kept, their product (the item's value) not
    IF({{ ga4.bad_money('i.price * COALESCE(i.quantity, 1)') }} AND NOT {{ ga4.bad_money('i.price') }}
       AND NOT {{ ga4.bad_quantity('i.quantity') }}, 1, 0) AS bad_item_value
  FROM ranked AS r, UNNEST(r.items) AS i
),
items_summed AS (
  SELECT
    SUM(bad_item_price) OVER () AS bad_item_price,
    SUM(bad_item_revenue) OVER () AS bad_item_revenue,
    SUM(bad_item_quantity) OVER () AS bad_item_quantity,
    SUM(bad_item_value) OVER () AS bad_item_value,
    ROW_NUMBER() OVER () AS n
  FROM per_item
),
summed AS (
  SELECT
    COUNT(*) OVER () AS exported_events,
    SUM(duplicate) OVER () AS duplicate_events,
    SUM(bad_purchase_revenue) OVER () AS bad_purchase_revenue,
    SUM(bad_purchase_revenue_in_usd) OVER () AS bad_purchase_revenue_in_usd,
    SUM(bad_refund_value) OVER () AS bad_refund_value,
    SUM(bad_event_value_in_usd) OVER () AS bad_event_value_in_usd,
    SUM(bad_total_item_quantity) OVER () AS bad_total_item_quantity,
    SUM(bad_value_param) OVER () AS bad_value_param,
    ROW_NUMBER() OVER () AS n
  FROM per_event
)
SELECT s.exported_events, s.duplicate_events, s.bad_purchase_revenue, s.bad_purchase_revenue_in_usd,
       s.bad_refund_value, s.bad_event_value_in_usd, s.bad_total_item_quantity, s.bad_value_param,
       i.bad_item_price, i.bad_item_revenue, i.bad_item_quantity, i.bad_item_value
FROM (SELECT * FROM summed WHERE n = 1) AS s
LEFT JOIN (SELECT * FROM items_summed WHERE n = 1) AS i ON TRUE
