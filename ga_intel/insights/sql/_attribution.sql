{#- The master data a GA4 row is attributed against (shared by metrics and tasks). The
rules themselves are macros in ga_intel/sql_macros/insights.sql: `attribute` joins these,
`account_key` ('user:<id>' for a known customer, else 'company:<id>' for a known buying
company — the seed system's webcustomerid rule —, else NULL: anonymous) and `branch`
(the customer's branch, else the company's, else GA4's branch if it is a known location,
else 'unattributed': never dropped). -#}
known_users AS (
  SELECT user_id, company_id, branch_code FROM tenant_data.users WHERE tenant_id = :tenant
),
known_companies AS (
  SELECT company_id, min(branch_code) AS branch_code
  FROM tenant_data.users WHERE tenant_id = :tenant AND company_id IS NOT NULL GROUP BY company_id
),
known_branches AS (
  SELECT warehouse_code AS code, warehouse_code FROM tenant_data.locations WHERE tenant_id = :tenant
  UNION
  SELECT warehouse_id, warehouse_code FROM tenant_data.locations WHERE tenant_id = :tenant AND warehouse_id IS NOT NULL
)
