-- The summary's one line per branch: its figures on the report date and its open work.
SELECT l.warehouse_code AS branch_code, l.warehouse_name AS branch_name,
       coalesce(m.revenue, 0) AS revenue, coalesce(m.transactions, 0) AS transactions,
       coalesce(m.sessions, 0) AS sessions, coalesce(m.carts_abandoned, 0) AS carts_abandoned,
       (SELECT count(*) FROM tenant_data.tasks t
        WHERE t.tenant_id = :tenant AND t.branch_code = l.warehouse_code
          AND t.status IN ('open', 'in_progress') AND t.horizon_date >= CAST(:today AS date)) AS open_tasks
FROM tenant_data.locations l
LEFT JOIN tenant_data.location_daily_metrics m
  ON m.tenant_id = l.tenant_id AND m.branch_code = l.warehouse_code AND m.event_date = CAST(:day AS date)
WHERE l.tenant_id = :tenant
ORDER BY revenue DESC, l.warehouse_code
