-- Task candidates of the run for :day, one row per deterministic task key, each with its
-- `decision`: 'create' (upsert it), 'withdraw' (a cart bought within its window: delete
-- the task if nobody touched it), 'wait' (a cart whose window the loaded data does not
-- cover yet), 'cooldown' (another cart task of the account is too close), 'open_repeat'
-- (the account already has an open repeat-visitor task). Rules: docs/TASKS.md.
-- Anonymous visitors never appear: every candidate has a known account.
-- Bound: :tenant, :day, :today, :timezone, :currency, :abandon_hours, :window_days,
-- :cart_days_back, :cooldown, :repeat_days, :repeat_min_sessions, :purchases_from,
-- :purchases_to and the horizons :horizon_cart, :horizon_purchase, :horizon_search,
-- :horizon_repeat.
{% import 'ga_intel/sql_macros/insights.sql' as m %}
WITH {% include 'ga_intel/insights/sql/_attribution.sql' %},
{% include 'ga_intel/insights/sql/_counted_purchases.sql' %},
reps AS (
  SELECT DISTINCT ON (branch_code) branch_code, rep_email, rep_name
  FROM tenant_data.sales_reps WHERE tenant_id = :tenant AND enabled AND role = 'rep' ORDER BY branch_code, rep_email
),
accounts AS (
  -- account_key -> its customer, company and branch
  SELECT 'user:' || u.user_id AS account_key, u.user_id AS customer_id, u.company_id, u.branch_code,
         u.rep_email AS own_rep_email, u.rep_name AS own_rep_name,
         trim(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')) AS display_name
  FROM tenant_data.users u WHERE u.tenant_id = :tenant
  UNION ALL
  SELECT 'company:' || kc.company_id, NULL, kc.company_id, kc.branch_code, NULL, NULL,
         (SELECT max(company_name) FROM tenant_data.users u2 WHERE u2.tenant_id = :tenant AND u2.company_id = kc.company_id)
  FROM known_companies kc
),
purchases AS (
  SELECT p.*, {{ m.account_key() }} AS account_key
  FROM counted_purchases p
  {{ m.attribute('p') }}
),
account_revenue AS (  -- an input of the ranking score
  SELECT account_key, sum(amount) AS revenue_90d
  FROM purchases WHERE account_key IS NOT NULL AND event_date BETWEEN CAST(:day AS date) - 89 AND :day
  GROUP BY account_key
),
-- purchase_followup: each counted purchase of the day by a known account
day_purchase_items AS (  -- grouped once, joined by key: not a sublink per purchase
  SELECT i.event_timestamp, coalesce(i.transaction_id, '') AS txn,
         jsonb_agg(jsonb_build_object('item_id', i.item_id, 'item_name', i.item_name, 'quantity', i.quantity,
                                      'price', i.price) ORDER BY i.line_no) AS items
  FROM tenant_data.purchase_items i
  WHERE i.tenant_id = :tenant AND i.event_date = :day
  GROUP BY 1, 2
),
purchase_tasks AS (
  SELECT 'purchase:' || CASE WHEN p.id_status = 'ok' THEN p.transaction_id
                             ELSE p.account_key || ':' || p.event_timestamp END AS task_key,
         'purchase_followup' AS task_type, p.account_key, p.event_date AS created_date,
         p.event_date + 2 AS due_date, p.event_date + :horizon_purchase AS horizon_date,
         CASE WHEN p.amount >= 1000 THEN 1 ELSE 2 END AS priority, p.amount AS value,
         jsonb_build_object(
           'transaction_id', p.transaction_id, 'revenue', p.amount, 'currency', CAST(:currency AS text),
           'purchased_at', p.event_time, 'items', coalesce(pi.items, '[]')) AS context,
         format('Thank %s for order %s (%s %s)', '{name}', coalesce(p.transaction_id, 'without id'),
                to_char(p.amount, 'FM999999990.00'), CAST(:currency AS text)) AS title,
         'create' AS decision
  FROM purchases p
  LEFT JOIN day_purchase_items pi ON pi.event_timestamp = p.event_timestamp
                                 AND pi.txn = coalesce(p.transaction_id, '')
  WHERE p.event_date = :day AND p.account_key IS NOT NULL
),
-- One task per key: id-less orders are keyed by account and timestamp, and two of them in
-- the same microsecond (two buyers of one company) would otherwise hit the upsert twice.
-- The larger order's follow-up stands for both.
purchase_tasks_once AS (
  SELECT DISTINCT ON (task_key) * FROM purchase_tasks ORDER BY task_key, value DESC NULLS LAST
),
-- cart_recovery: per known account and cart day, the adds of that day. A run decides the
-- carts of the last :cart_days_back days, so a cart is decided by the first run whose
-- loaded data covers its window, whatever order days are run in.
cart_adds AS (
  SELECT c.*, {{ m.account_key() }} AS account_key,
         {{ m.in_currency('c.value', 'c.currency', 'c.value_in_usd') }} AS amount
  FROM tenant_data.cart_adds c
  {{ m.attribute('c') }}
  WHERE c.tenant_id = :tenant AND c.event_date BETWEEN CAST(:day AS date) - :cart_days_back AND :day
),
carts AS (
  SELECT account_key, event_date AS cart_date, min(event_time) AS first_add, max(event_time) AS last_add,
         max(event_time) + make_interval(hours => :abandon_hours) AS window_ends,
         sum(coalesce(amount, 0)) AS value,
         jsonb_agg(jsonb_build_object('item_id', item_id, 'item_name', item_name, 'quantity', quantity,
                                      'price', price, 'value', amount) ORDER BY event_time, line_no) AS items
  FROM cart_adds WHERE account_key IS NOT NULL GROUP BY account_key, event_date
),
loaded AS (  -- the days whose GA4 data is loaded, and how far into each the data goes
  SELECT a.event_date, a.status,
         (SELECT max(s.session_end) FROM tenant_data.sessions s
          WHERE s.tenant_id = :tenant AND s.event_date = a.event_date) AS last_event
  FROM tenant_data.data_availability a
  WHERE a.tenant_id = :tenant AND a.status IN ('complete', 'provisional')
    AND a.event_date BETWEEN CAST(:day AS date) - :cart_days_back AND CAST(:day AS date) + :window_days + 2
),
-- A join, not a correlated EXISTS per cart: that is quadratic in a day's carts × purchases.
carts_bought AS (
  SELECT DISTINCT c.account_key, c.cart_date
  FROM carts c JOIN purchases p ON p.account_key = c.account_key
  WHERE p.event_time > c.first_add AND p.event_time <= c.window_ends
),
cart_windows AS (
  SELECT c.*, (c.window_ends AT TIME ZONE :timezone)::date AS window_end_date,
         cb.account_key IS NOT NULL AS bought_in_window
  FROM carts c
  LEFT JOIN carts_bought cb ON cb.account_key = c.account_key AND cb.cart_date = c.cart_date
),
cart_coverage AS (
  -- The loaded data covers a window when every day from the cart's to the window's end is
  -- loaded, and that last day is complete, or its data runs past the window, or the next
  -- day is loaded too.
  SELECT w.account_key, w.cart_date,
         (SELECT count(*) FROM loaded l WHERE l.event_date BETWEEN w.cart_date AND w.window_end_date)
           = w.window_end_date - w.cart_date + 1
         AND EXISTS (SELECT 1 FROM loaded l
                     WHERE (l.event_date = w.window_end_date AND (l.status = 'complete' OR l.last_event >= w.window_ends))
                        OR l.event_date = w.window_end_date + 1) AS covered
  FROM cart_windows w
),
cart_tasks AS (
  SELECT 'cart:' || w.account_key || ':' || w.cart_date AS task_key, 'cart_recovery' AS task_type, w.account_key,
         w.cart_date AS created_date, greatest(w.window_end_date, w.cart_date + 1) AS due_date,
         w.window_end_date + :horizon_cart AS horizon_date,
         CASE WHEN w.value >= 500 THEN 1 ELSE 2 END AS priority, w.value,
         jsonb_build_object('items', w.items, 'value', w.value, 'currency', CAST(:currency AS text),
                            'first_add', w.first_add, 'last_add', w.last_add, 'window_ends', w.window_ends) AS context,
         format('Recover %s''s cart (%s %s, %s items)', '{name}', to_char(w.value, 'FM999999990.00'),
                CAST(:currency AS text), jsonb_array_length(w.items)) AS title,
         CASE WHEN w.bought_in_window THEN 'withdraw' WHEN NOT v.covered THEN 'wait' ELSE 'create' END AS decision
  FROM cart_windows w
  JOIN cart_coverage v ON v.account_key = w.account_key AND v.cart_date = w.cart_date
),
cart_decided AS (
  -- No second cart task for an account within the cooldown of another: an existing task,
  -- or an earlier cart of this run that becomes one (a window over the run's carts, not
  -- a scan of them per cart).
  SELECT c.task_key, c.task_type, c.account_key, c.created_date, c.due_date, c.horizon_date, c.priority, c.value,
         c.context, c.title,
         CASE WHEN c.decision = 'create' AND (
                c.created_date - c.previous_created < :cooldown
                OR EXISTS (SELECT 1 FROM tenant_data.tasks t
                           WHERE t.tenant_id = :tenant AND t.task_type = 'cart_recovery'
                             AND t.account_key = c.account_key AND t.task_key <> c.task_key
                             AND abs(t.created_date - c.created_date) < :cooldown))
              THEN 'cooldown' ELSE c.decision END AS decision
  FROM (
    SELECT *, max(created_date) FILTER (WHERE decision = 'create')
                OVER (PARTITION BY account_key ORDER BY created_date
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS previous_created
    FROM cart_tasks
  ) c
),
-- search_followup: a known account's searches that found nothing or led nowhere
search_rows AS (
  SELECT s.*, {{ m.account_key() }} AS account_key
  FROM tenant_data.searches s
  {{ m.attribute('s') }}
  WHERE s.tenant_id = :tenant AND s.event_date = :day
),
search_tasks AS (
  SELECT 'search:' || account_key || ':' || CAST(:day AS date) AS task_key, 'search_followup' AS task_type,
         account_key, CAST(:day AS date) AS created_date, CAST(:day AS date) + 2 AS due_date,
         CAST(:day AS date) + :horizon_search AS horizon_date, 3 AS priority, NULL::numeric AS value,
         jsonb_build_object('terms', jsonb_agg(DISTINCT search_term),
                            'no_result_terms', coalesce(jsonb_agg(DISTINCT search_term) FILTER (WHERE no_results), '[]'),
                            'searches', count(*)) AS context,
         format('Help %s find: %s', '{name}', string_agg(DISTINCT search_term, ', ')) AS title,
         'create' AS decision
  FROM search_rows
  WHERE account_key IS NOT NULL AND search_term IS NOT NULL
    AND (no_results OR (NOT then_add_to_cart AND NOT then_purchase))
  GROUP BY account_key
),
-- repeat_visitor: >= N visits (sessions by the day they started) in the last M days and
-- no purchase in them; one open task per account at a time
visits AS (
  SELECT {{ m.account_key() }} AS account_key, s.event_date, s.had_purchase
  FROM tenant_data.sessions s
  {{ m.attribute('s') }}
  WHERE s.tenant_id = :tenant AND NOT s.continues_earlier
    AND s.event_date BETWEEN CAST(:day AS date) - (:repeat_days - 1) AND :day
),
repeat_buyers AS (
  SELECT DISTINCT account_key FROM purchases
  WHERE account_key IS NOT NULL AND event_date BETWEEN CAST(:day AS date) - (:repeat_days - 1) AND :day
),
repeat_tasks AS (
  SELECT 'repeat:' || v.account_key || ':' || CAST(:day AS date) AS task_key, 'repeat_visitor' AS task_type,
         v.account_key, CAST(:day AS date) AS created_date, CAST(:day AS date) + 3 AS due_date,
         CAST(:day AS date) + :horizon_repeat AS horizon_date, 2 AS priority, NULL::numeric AS value,
         jsonb_build_object('sessions', count(*), 'days', count(DISTINCT v.event_date), 'window_days', :repeat_days) AS context,
         format('%s visited %s times in %s days without buying', '{name}', count(*), :repeat_days) AS title,
         CASE WHEN EXISTS (SELECT 1 FROM tenant_data.tasks t
                           WHERE t.tenant_id = :tenant AND t.task_type = 'repeat_visitor'
                             AND t.account_key = v.account_key AND t.task_key <> 'repeat:' || v.account_key || ':' || CAST(:day AS date)
                             AND t.status IN ('open', 'in_progress'))
              THEN 'open_repeat' ELSE 'create' END AS decision
  FROM visits v
  WHERE v.account_key IS NOT NULL
  GROUP BY v.account_key
  HAVING count(*) >= :repeat_min_sessions AND NOT bool_or(v.had_purchase)
     AND bool_or(v.event_date = :day)
     AND v.account_key NOT IN (SELECT account_key FROM repeat_buyers)  -- a hashed lookup
),
candidates AS (
  SELECT task_key, task_type, account_key, created_date, due_date, horizon_date, priority, value, context, title,
         decision FROM purchase_tasks_once
  UNION ALL SELECT * FROM cart_decided
  UNION ALL SELECT task_key, task_type, account_key, created_date, due_date, horizon_date, priority, value, context,
         title, decision FROM search_tasks
  UNION ALL SELECT task_key, task_type, account_key, created_date, due_date, horizon_date, priority, value, context,
         title, decision FROM repeat_tasks
)
SELECT c.task_key, c.task_type, c.account_key, a.customer_id, a.company_id,
       COALESCE(a.branch_code, 'unattributed') AS branch_code,
       COALESCE(a.own_rep_email, r.rep_email) AS assigned_rep_email,
       COALESCE(a.own_rep_name, r.rep_name) AS assigned_rep_name,
       c.created_date, c.due_date, c.horizon_date, c.priority, c.value, c.context,
       replace(c.title, '{name}', COALESCE(NULLIF(a.display_name, ''), a.customer_id, a.company_id)) AS title,
       COALESCE(ar.revenue_90d, 0) AS account_revenue_90d, c.decision
FROM candidates c
JOIN accounts a ON a.account_key = c.account_key
LEFT JOIN reps r ON r.branch_code = a.branch_code
LEFT JOIN account_revenue ar ON ar.account_key = c.account_key
