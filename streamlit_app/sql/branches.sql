-- The tenant's branches for the branch filter: its locations, plus any branch code with
-- metrics in [:start, :end] (e.g. 'unattributed', or a branch since dropped from the list).
SELECT branch_code, max(branch_name) AS branch_name
FROM (
    SELECT warehouse_code AS branch_code, warehouse_name AS branch_name FROM tenant_data.locations
    UNION ALL
    SELECT DISTINCT branch_code, NULL FROM tenant_data.location_daily_metrics WHERE event_date BETWEEN :start AND :end
) b
GROUP BY branch_code
ORDER BY branch_code
