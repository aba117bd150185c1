-- One row per item of each add_to_cart event (an event adding two items is two rows;
-- event_timestamp + user_pseudo_id identify the event).
WITH {events}
SELECT
  e.customer_id, e.company_id, e.branch_id, e.user_pseudo_id, e.ga_session_id, e.event_time, e.event_timestamp,
  pos AS line_no, i.item_id, i.item_name, i.item_category, COALESCE(i.quantity, 1) AS quantity, i.price,
  COALESCE(i.price * COALESCE(i.quantity, 1), e.param_value) AS value
FROM events AS e, UNNEST(e.items) AS i WITH OFFSET AS pos
WHERE e.event_name = 'add_to_cart'
UNION ALL
-- An add_to_cart without items still happened: keep it, with its value if any.
SELECT customer_id, company_id, branch_id, user_pseudo_id, ga_session_id, event_time, event_timestamp,
       0, NULL, NULL, NULL, 1, NULL, param_value
FROM events
WHERE event_name = 'add_to_cart' AND ARRAY_LENGTH(items) = 0
