-- HyperLogLog registers of the day's active users (as metrics.sql counts them), for the
-- tenant (branch_code NULL) and per branch: distinct users over a date range are the
-- merge of the days' sketches (insights/users.py), never a sum of daily counts. GA4 itself
-- counts users over a range with HLL++ at precision 14; so does this, with its own hash.
-- Register = the hash's low 14 bits; rank = leading zeros of the remaining 50 bits + 1.
{% import 'ga_intel/sql_macros/insights.sql' as m %}
WITH {% include 'ga_intel/insights/sql/_attribution.sql' %},
{% include 'ga_intel/insights/sql/_day_sessions.sql' %},
hashed AS (
  SELECT DISTINCT branch, hashtextextended(user_pseudo_id, 0) AS h
  FROM day_parts WHERE active_user IS NOT FALSE
),
ranked AS (
  SELECT branch, (h & 16383)::int AS register, 51 - length(ltrim(((h >> 14)::bit(50))::text, '0')) AS rank
  FROM hashed
)
SELECT CASE WHEN GROUPING(branch) = 1 THEN NULL ELSE branch END AS branch_code, register, max(rank) AS rank
FROM ranked
GROUP BY GROUPING SETS ((register), (branch, register))
