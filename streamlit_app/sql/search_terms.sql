-- Per search term (trimmed, lower-cased) over [:start, :end]. A "no-result" search is one
-- GA4 flagged as returning nothing (no_results); a "no-click" search returned results but
-- the session neither viewed an item nor added to cart after it.
SELECT lower(btrim(search_term))                                          AS term,
       count(*)::bigint                                                   AS searches,
       count(DISTINCT user_pseudo_id)::bigint                             AS searching_users,
       count(DISTINCT user_pseudo_id || ':' || ga_session_id)::bigint     AS sessions,
       count(*) FILTER (WHERE no_results)::bigint                         AS no_result_searches,
       count(*) FILTER (WHERE NOT no_results)::bigint                     AS searches_with_results,
       count(*) FILTER (WHERE NOT no_results AND NOT then_view_item
                                             AND NOT then_add_to_cart)::bigint AS no_click_searches,
       count(*) FILTER (WHERE then_view_item)::bigint                     AS view_item_searches,
       count(*) FILTER (WHERE then_add_to_cart)::bigint                   AS add_to_cart_searches,
       count(*) FILTER (WHERE then_purchase)::bigint                      AS purchase_searches
FROM tenant_data.searches
WHERE event_date BETWEEN :start AND :end
  AND search_term IS NOT NULL AND btrim(search_term) <> ''
GROUP BY 1
ORDER BY searches DESC, term
