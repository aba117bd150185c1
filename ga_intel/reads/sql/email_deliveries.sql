-- The delivery ledger, one row per recipient, newest report first.
SELECT report_date, report_kind, branch_code, recipient, recipient_name, status, skip_reason, attempts,
       smtp_code, error, message_id, subject, data_incomplete, last_attempt_at, sent_at
FROM tenant_data.email_deliveries
WHERE report_date BETWEEN :start AND :end
  AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
ORDER BY report_date DESC, report_kind, branch_code, recipient
LIMIT 5000
