-- The days' HyperLogLog sketches of active users for [:start, :end] (tenant, or :branch):
-- distinct users over a range are their merge (ga_intel/insights/users.py), never a sum.
SELECT users_sketch FROM tenant_data.daily_metrics
WHERE CAST(:branch AS text) IS NULL AND event_date BETWEEN :start AND :end
UNION ALL
SELECT users_sketch FROM tenant_data.location_daily_metrics
WHERE branch_code = :branch AND event_date BETWEEN :start AND :end
