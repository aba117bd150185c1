-- Every master-data file version loaded, newest first.
SELECT kind, file_name, loaded_at, rows_loaded, warnings, size_bytes, mtime, left(sha256, 12) AS sha256, run_id
FROM tenant_data.master_data_files
ORDER BY loaded_at DESC
LIMIT 200
