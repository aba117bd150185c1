-- Failed pipeline runs of the tenant in the selected dates, with whether the admins were
-- alerted (at most once per failure type per day).
SELECT f.failed_at, f.job_name, f.partition_key, f.failure_type, f.message, f.run_id,
       a.status AS alert, a.first_run_id = f.run_id AS alerted_for_this_run
FROM tenant_data.pipeline_failures f
LEFT JOIN tenant_data.pipeline_alerts a
  ON a.tenant_id = f.tenant_id AND a.alert_date = f.alert_date AND a.failure_type = f.failure_type
WHERE f.alert_date BETWEEN :start AND :end
ORDER BY f.failed_at DESC
LIMIT 500
