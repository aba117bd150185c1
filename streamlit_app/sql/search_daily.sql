-- Searches per day of [:start, :end], with the no-result and no-click ones (definitions as
-- in search_terms.sql).
SELECT event_date,
       count(*)::bigint                                                   AS searches,
       count(*) FILTER (WHERE no_results)::bigint                         AS no_result_searches,
       count(*) FILTER (WHERE NOT no_results AND NOT then_view_item
                                             AND NOT then_add_to_cart)::bigint AS no_click_searches,
       count(*) FILTER (WHERE then_add_to_cart)::bigint                   AS add_to_cart_searches
FROM tenant_data.searches
WHERE event_date BETWEEN :start AND :end
GROUP BY event_date
ORDER BY event_date
