-- Task candidates produced by the day :day (one row per deterministic task key).
-- Anonymous visitors never appear: every candidate has a known account (docs/TASKS.md).
WITH {attribution},
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
  SELECT p.*, CASE WHEN ku.user_id IS NOT NULL THEN 'user:' || ku.user_id
                   WHEN kc.company_id IS NOT NULL THEN 'company:' || kc.company_id END AS account_key
  FROM tenant_data.purchases p
  LEFT JOIN known_users ku ON ku.user_id = p.customer_id
  LEFT JOIN known_companies kc ON kc.company_id = p.company_id
  WHERE p.tenant_id = :tenant
    AND p.event_date BETWEEN CAST(:day AS date) - :lookback_days AND CAST(:day AS date) + :window_days
),
horizon AS (  -- the newest event loaded: a cart's window must have ended by then
  SELECT max(session_end) AS t FROM tenant_data.sessions WHERE tenant_id = :tenant
),
-- purchase_followup: each de-duplicated purchase of the day by a known account
purchase_tasks AS (
  SELECT 'purchase:' || CASE WHEN p.id_status = 'ok' THEN p.transaction_id
                             ELSE p.account_key || ':' || p.event_timestamp END AS task_key,
         'purchase_followup' AS task_type, p.account_key, p.event_date AS created_date,
         p.event_date + 2 AS due_date, CASE WHEN p.revenue >= 1000 THEN 1 ELSE 2 END AS priority,
         p.revenue AS value,
         jsonb_build_object(
           'transaction_id', p.transaction_id, 'revenue', p.revenue, 'currency', p.currency,
           'purchased_at', p.event_time,
           'items', (SELECT coalesce(jsonb_agg(jsonb_build_object('item_id', i.item_id, 'item_name', i.item_name,
                                                                 'quantity', i.quantity, 'price', i.price)
                                               ORDER BY i.line_no), '[]')
                     FROM tenant_data.purchase_items i
                     WHERE i.tenant_id = :tenant AND i.event_date = p.event_date
                       AND i.event_timestamp = p.event_timestamp
                       AND i.transaction_id IS NOT DISTINCT FROM p.transaction_id)) AS context,
         format('Thank %s for order %s (%s %s)', '{name}', coalesce(p.transaction_id, 'without id'),
                to_char(p.revenue, 'FM999999990.00'), coalesce(p.currency, '')) AS title
  FROM purchases p
  WHERE p.event_date = :day AND p.account_key IS NOT NULL
),
-- cart_recovery: per known account and cart day, the adds of that day
cart_adds AS (
  SELECT c.*, CASE WHEN ku.user_id IS NOT NULL THEN 'user:' || ku.user_id
                   WHEN kc.company_id IS NOT NULL THEN 'company:' || kc.company_id END AS account_key
  FROM tenant_data.cart_adds c
  LEFT JOIN known_users ku ON ku.user_id = c.customer_id
  LEFT JOIN known_companies kc ON kc.company_id = c.company_id
  WHERE c.tenant_id = :tenant AND c.event_date BETWEEN CAST(:day AS date) - :window_days AND :day
),
carts AS (
  SELECT account_key, event_date AS cart_date, min(event_time) AS first_add, max(event_time) AS last_add,
         sum(coalesce(value, 0)) AS value,
         jsonb_agg(jsonb_build_object('item_id', item_id, 'item_name', item_name, 'quantity', quantity,
                                      'price', price) ORDER BY event_time, line_no) AS items
  FROM cart_adds WHERE account_key IS NOT NULL GROUP BY account_key, event_date
),
-- A join, not a correlated EXISTS per cart: that is quadratic in a day's carts × purchases.
carts_bought AS (
  SELECT DISTINCT c.account_key, c.cart_date
  FROM carts c JOIN purchases p ON p.account_key = c.account_key
  WHERE p.event_time > c.first_add AND p.event_time <= c.last_add + make_interval(hours => :abandon_hours)
),
cart_tasks AS (
  SELECT 'cart:' || c.account_key || ':' || c.cart_date AS task_key, 'cart_recovery' AS task_type, c.account_key,
         c.cart_date AS created_date, c.cart_date + 1 AS due_date,
         CASE WHEN c.value >= 500 THEN 1 ELSE 2 END AS priority, c.value,
         jsonb_build_object('items', c.items, 'value', c.value, 'first_add', c.first_add, 'last_add', c.last_add,
                            'window_ends', c.last_add + make_interval(hours => :abandon_hours)) AS context,
         format('Recover %s''s cart (%s, %s items)', '{name}', to_char(c.value, 'FM999999990.00'),
                jsonb_array_length(c.items)) AS title,
         cb.account_key IS NOT NULL AS bought_in_window,
         c.last_add + make_interval(hours => :abandon_hours) <= (SELECT t FROM horizon) AS window_over
  FROM carts c
  LEFT JOIN carts_bought cb ON cb.account_key = c.account_key AND cb.cart_date = c.cart_date
),
-- search_followup: a known account's searches that found nothing or led nowhere
search_rows AS (
  SELECT s.*, CASE WHEN ku.user_id IS NOT NULL THEN 'user:' || ku.user_id
                   WHEN kc.company_id IS NOT NULL THEN 'company:' || kc.company_id END AS account_key
  FROM tenant_data.searches s
  LEFT JOIN known_users ku ON ku.user_id = s.customer_id
  LEFT JOIN known_companies kc ON kc.company_id = s.company_id
  WHERE s.tenant_id = :tenant AND s.event_date = :day
),
search_tasks AS (
  SELECT 'search:' || account_key || ':' || CAST(:day AS date) AS task_key, 'search_followup' AS task_type,
         account_key, CAST(:day AS date) AS created_date, CAST(:day AS date) + 2 AS due_date, 3 AS priority,
         NULL::numeric AS value,
         jsonb_build_object('terms', jsonb_agg(DISTINCT search_term),
                            'no_result_terms', coalesce(jsonb_agg(DISTINCT search_term) FILTER (WHERE no_results), '[]'),
                            'searches', count(*)) AS context,
         format('Help %s find: %s', '{name}', string_agg(DISTINCT search_term, ', ')) AS title
  FROM search_rows
  WHERE account_key IS NOT NULL AND search_term IS NOT NULL
    AND (no_results OR (NOT then_add_to_cart AND NOT then_purchase))
  GROUP BY account_key
),
-- repeat_visitor: >= N sessions in the last M days and no purchase in them
visits AS (
  SELECT CASE WHEN ku.user_id IS NOT NULL THEN 'user:' || ku.user_id
              WHEN kc.company_id IS NOT NULL THEN 'company:' || kc.company_id END AS account_key,
         s.event_date, s.had_purchase
  FROM tenant_data.sessions s
  LEFT JOIN known_users ku ON ku.user_id = s.customer_id
  LEFT JOIN known_companies kc ON kc.company_id = s.company_id
  WHERE s.tenant_id = :tenant AND s.event_date BETWEEN CAST(:day AS date) - (:repeat_days - 1) AND :day
),
repeat_buyers AS (
  SELECT DISTINCT account_key FROM purchases
  WHERE account_key IS NOT NULL AND event_date BETWEEN CAST(:day AS date) - (:repeat_days - 1) AND :day
),
repeat_tasks AS (
  SELECT 'repeat:' || v.account_key || ':' || CAST(:day AS date) AS task_key, 'repeat_visitor' AS task_type,
         v.account_key, CAST(:day AS date) AS created_date, CAST(:day AS date) + 3 AS due_date, 2 AS priority,
         NULL::numeric AS value,
         jsonb_build_object('sessions', count(*), 'days', count(DISTINCT v.event_date), 'window_days', :repeat_days) AS context,
         format('%s visited %s times in %s days without buying', '{name}', count(*), :repeat_days) AS title
  FROM visits v
  WHERE v.account_key IS NOT NULL
  GROUP BY v.account_key
  HAVING count(*) >= :repeat_min_sessions AND NOT bool_or(v.had_purchase)
     AND bool_or(v.event_date = :day)
     AND v.account_key NOT IN (SELECT account_key FROM repeat_buyers)  -- a hashed lookup
),
candidates AS (
  SELECT task_key, task_type, account_key, created_date, due_date, priority, value, context, title,
         FALSE AS bought_in_window, TRUE AS window_over FROM purchase_tasks
  UNION ALL SELECT task_key, task_type, account_key, created_date, due_date, priority, value, context, title,
         bought_in_window, window_over FROM cart_tasks
  UNION ALL SELECT task_key, task_type, account_key, created_date, due_date, priority, value, context, title,
         FALSE, TRUE FROM search_tasks
  UNION ALL SELECT task_key, task_type, account_key, created_date, due_date, priority, value, context, title,
         FALSE, TRUE FROM repeat_tasks
)
SELECT c.task_key, c.task_type, c.account_key, a.customer_id, a.company_id,
       COALESCE(a.branch_code, 'unattributed') AS branch_code,
       COALESCE(a.own_rep_email, r.rep_email) AS assigned_rep_email,
       COALESCE(a.own_rep_name, r.rep_name) AS assigned_rep_name,
       c.created_date, c.due_date, c.priority, c.value, c.context,
       replace(c.title, '{name}', COALESCE(NULLIF(a.display_name, ''), a.customer_id, a.company_id)) AS title,
       c.bought_in_window, c.window_over
FROM candidates c
JOIN accounts a ON a.account_key = c.account_key
LEFT JOIN reps r ON r.branch_code = a.branch_code
