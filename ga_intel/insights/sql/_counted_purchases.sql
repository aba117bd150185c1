{#- Purchases that count, in [:purchases_from, :purchases_to]: a transaction_id counts once
in the tenant's history, on the earliest day it appears in the loaded data, whatever
order the days were loaded in (a receipt page reopened days later re-fires `purchase`;
that copy is never revenue and never recovers a cart). Purchases without a usable id
(null, '(not set)') each count. `amount` is the revenue in the reporting currency. -#}
{% import 'ga_intel/sql_macros/insights.sql' as m %}
counted_purchases AS (
  SELECT p.*, {{ m.in_currency('p.revenue', 'p.currency', 'p.revenue_in_usd') }} AS amount
  FROM tenant_data.purchases p
  WHERE p.tenant_id = :tenant AND p.event_date BETWEEN :purchases_from AND :purchases_to
    AND (p.id_status <> 'ok' OR NOT EXISTS (
          SELECT 1 FROM tenant_data.purchases earlier
          WHERE earlier.tenant_id = :tenant AND earlier.transaction_id = p.transaction_id
            AND earlier.event_date < p.event_date))
)
