-- The latest run that wrote each part of the tenant's data (run ids the assets record).
SELECT 'ga4_day (GA4 tables)' AS asset, run_id, updated_at AS finished_at, event_date::text AS detail
FROM (SELECT run_id, updated_at, event_date FROM tenant_data.data_availability
      WHERE run_id IS NOT NULL ORDER BY updated_at DESC, event_date DESC LIMIT 1) g
UNION ALL
SELECT 'master_data (users, locations)', run_id, loaded_at, kind || ': ' || file_name
FROM (SELECT run_id, loaded_at, kind, file_name FROM tenant_data.master_data_files
      WHERE run_id IS NOT NULL ORDER BY loaded_at DESC LIMIT 1) m
UNION ALL
SELECT 'email_reports', run_id, updated_at, report_date::text
FROM (SELECT run_id, updated_at, report_date FROM tenant_data.email_deliveries
      WHERE run_id IS NOT NULL ORDER BY updated_at DESC, report_date DESC LIMIT 1) e
