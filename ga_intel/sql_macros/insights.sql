{#- Macros for the PostgreSQL insights queries (metrics, tasks, search terms). Each names
one rule of docs/METRICS.md / docs/TASKS.md so the rule is written once. -#}

{#- Look up who a GA4 row belongs to in the master data (CTEs of _attribution.sql), as
    `<p>ku` (known customer), `<p>kc` (known company), `<p>kb` (known branch). -#}
{% macro attribute(row, p='') -%}
LEFT JOIN known_users {{ p }}ku ON {{ p }}ku.user_id = {{ row }}.customer_id
LEFT JOIN known_companies {{ p }}kc ON {{ p }}kc.company_id = {{ row }}.company_id
LEFT JOIN known_branches {{ p }}kb ON {{ p }}kb.code = {{ row }}.branch_id
{%- endmacro %}

{#- The account of an attributed row: 'user:<id>', else 'company:<id>', else NULL. -#}
{% macro account_key(p='') -%}
tenant_data.account_key({{ p }}ku.user_id, {{ p }}kc.company_id)
{%- endmacro %}

{#- The branch of an attributed row: the customer's, the company's, GA4's branch when it
    is a known location, else 'unattributed' (never dropped). -#}
{% macro branch(p='') -%}
COALESCE({{ p }}ku.branch_code, {{ p }}kc.branch_code, {{ p }}kb.warehouse_code, 'unattributed')
{%- endmacro %}

{#- Who a visitor is for distinct counts: the account, else the GA4 device. -#}
{% macro visitor_key(row, p='') -%}
COALESCE({{ account_key(p) }}, 'device:' || {{ row }}.user_pseudo_id)
{%- endmacro %}

{#- An amount in the tenant's reporting currency (:currency), NULL when unconvertible. -#}
{% macro in_currency(amount, currency, amount_usd) -%}
tenant_data.in_currency({{ amount }}, {{ currency }}, {{ amount_usd }}, CAST(:currency AS text))
{%- endmacro %}
