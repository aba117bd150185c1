-- One row per report (tenant × kind × date × branch) in the selected dates, with how its
-- deliveries stand. :branch limits to one branch (a branch manager, or the branch filter).
SELECT report_date, report_kind, branch_code,
       count(*) FILTER (WHERE status = 'sent') AS sent,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status IN ('queued', 'sending')) AS pending,
       count(*) FILTER (WHERE status = 'skipped') AS skipped,
       string_agg(DISTINCT skip_reason, ', ') AS skip_reasons,
       bool_or(data_incomplete) AS data_incomplete,
       max(subject) AS subject,
       max(sent_at) AS last_sent_at
FROM tenant_data.email_deliveries
WHERE report_date BETWEEN :start AND :end
  AND (CAST(:branch AS text) IS NULL OR branch_code = :branch)
GROUP BY report_date, report_kind, branch_code
ORDER BY report_date DESC, report_kind, branch_code
