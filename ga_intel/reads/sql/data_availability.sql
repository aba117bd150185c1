-- The load status of each day of [:start, :end] that has a row (days without one were never
-- loaded; the Data page fills them in).
SELECT event_date, status, source_table, bq_modified_at, bq_row_count, rows_written, run_id,
       message, updated_at
FROM tenant_data.data_availability
WHERE event_date BETWEEN :start AND :end
ORDER BY event_date
