-- Events that belong to no session: cookieless pings (consent mode: no user_pseudo_id)
-- and events without a ga_session_id. They are kept, counted per who they belong to, and
-- their purchases still count as revenue and transactions (purchases.sql keeps them).
-- Window aggregates, not GROUP BY: the emulator cannot group by scalar-subquery columns.
{% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
WITH {{ ev.events(['event_name', 'user_pseudo_id', 'ga_session_id', 'customer_id', 'company_id', 'branch_id']) }},
unsessioned AS (
  SELECT customer_id, company_id, branch_id, event_name,
         IF(user_pseudo_id IS NULL, 'no_pseudo_id', 'no_session_id') AS reason
  FROM events
  WHERE user_pseudo_id IS NULL OR ga_session_id IS NULL
),
counted AS (
  SELECT customer_id, company_id, branch_id, reason,
         COUNT(*) OVER g AS events,
         SUM(IF(event_name = 'purchase', 1, 0)) OVER g AS purchase_events,
         ROW_NUMBER() OVER g AS n
  FROM unsessioned
  WINDOW g AS (PARTITION BY customer_id, company_id, branch_id, reason)
)
SELECT customer_id, company_id, branch_id, reason, events, purchase_events FROM counted WHERE n = 1
