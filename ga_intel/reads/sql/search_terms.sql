-- Per search term (trimmed, lower-cased at computation) over [:start, :end], for the tenant
-- or :branch, from search_terms_daily (docs/METRICS.md). Only terms in some table's top
-- :top are returned; distinct_terms counts them all.
-- For the whole tenant the range is read as whole :quarters, :months and :weeks from
-- search_terms_rollup (the daily rows summed over branches, kept by triggers, migration
-- 0008) plus the remaining :days from search_terms_daily (lib/metrics.search_periods).
--   searches               = searches with results + no-result events
--   no_click_sessions      = sessions whose searches for the term had results but no item
--                            view or add-to-cart after them
--   cart / purchase_sessions = sessions that added to cart / bought after searching the term
--   searching_users        = distinct searchers per day and branch, summed (user-days)
WITH rows AS (
    SELECT search_term, searches, no_result_searches, searching_users, sessions, no_click_sessions, cart_sessions,
           purchase_sessions
    FROM tenant_data.search_terms_rollup
    WHERE CAST(:branch AS text) IS NULL AND grain = 'q' AND period = ANY(CAST(:quarters AS date[]))
    UNION ALL
    SELECT search_term, searches, no_result_searches, searching_users, sessions, no_click_sessions, cart_sessions,
           purchase_sessions
    FROM tenant_data.search_terms_rollup
    WHERE CAST(:branch AS text) IS NULL AND grain = 'm' AND period = ANY(CAST(:months AS date[]))
    UNION ALL
    SELECT search_term, searches, no_result_searches, searching_users, sessions, no_click_sessions, cart_sessions,
           purchase_sessions
    FROM tenant_data.search_terms_rollup
    WHERE CAST(:branch AS text) IS NULL AND grain = 'w' AND period = ANY(CAST(:weeks AS date[]))
    UNION ALL
    SELECT search_term, searches, no_result_searches, searching_users, sessions, no_click_sessions, cart_sessions,
           purchase_sessions
    FROM tenant_data.search_terms_daily
    WHERE CAST(:branch AS text) IS NULL AND event_date = ANY(CAST(:days AS date[]))
    UNION ALL
    SELECT search_term, searches, no_result_searches, searching_users, sessions, no_click_sessions, cart_sessions,
           purchase_sessions
    FROM tenant_data.search_terms_daily
    WHERE CAST(:branch AS text) IS NOT NULL AND event_date BETWEEN :start AND :end AND branch_code = :branch
), t AS (
    SELECT search_term                                   AS term,
           sum(searches + no_result_searches)::bigint    AS searches,
           sum(searches)::bigint                         AS searches_with_results,
           sum(no_result_searches)::bigint               AS no_result_searches,
           sum(searching_users)::bigint                  AS searching_users,
           sum(sessions)::bigint                         AS sessions,
           sum(no_click_sessions)::bigint                AS no_click_sessions,
           sum(cart_sessions)::bigint                    AS cart_sessions,
           sum(purchase_sessions)::bigint                AS purchase_sessions
    FROM rows
    GROUP BY search_term
), ranked AS (
    SELECT t.*,
           count(*) OVER ()                                                             AS distinct_terms,
           row_number() OVER (ORDER BY searches DESC, term)                             AS top_rank,
           row_number() OVER (ORDER BY no_result_searches DESC, term)                   AS no_result_rank,
           row_number() OVER (ORDER BY no_click_sessions DESC, term)                    AS no_click_rank,
           row_number() OVER (ORDER BY purchase_sessions DESC, cart_sessions DESC, term) AS convert_rank
    FROM t
)
SELECT * FROM ranked
WHERE least(top_rank, no_result_rank, no_click_rank, convert_rank) <= :top
ORDER BY searches DESC, term
