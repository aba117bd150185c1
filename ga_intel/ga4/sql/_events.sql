-- One row per GA4 event of one daily table, with what every output table needs already
-- pulled out of the nested records. Every UNNEST is aliased (the emulator, and some
-- BigQuery planners, reject the unqualified form). Parameters:
--   @day (YYYYMMDD), @customer_key, @customer_key_is_user_id, @fallback_to_user_id,
--   @company_key, @branch_key, @no_results_event, @no_results_param
events AS (
  SELECT
    event_name,
    event_timestamp,
    event_bundle_sequence_id,
    TIMESTAMP_MICROS(event_timestamp) AS event_time,
    user_pseudo_id,
    (SELECT p.value.int_value FROM UNNEST(event_params) AS p WHERE p.key = 'ga_session_id') AS ga_session_id,
    COALESCE(
      IF(@customer_key_is_user_id, user_id,
         (SELECT COALESCE(u.value.string_value, CAST(u.value.int_value AS STRING))
          FROM UNNEST(user_properties) AS u WHERE u.key = @customer_key)),
      IF(@fallback_to_user_id, user_id, NULL)
    ) AS customer_id,
    (SELECT COALESCE(u.value.string_value, CAST(u.value.int_value AS STRING))
     FROM UNNEST(user_properties) AS u WHERE u.key = @company_key) AS company_id,
    (SELECT COALESCE(u.value.string_value, CAST(u.value.int_value AS STRING))
     FROM UNNEST(user_properties) AS u WHERE u.key = @branch_key) AS branch_id,
    (SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = 'page_location') AS page_location,
    (SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = 'page_title') AS page_title,
    (SELECT COALESCE(p.value.string_value, CAST(p.value.int_value AS STRING))
     FROM UNNEST(event_params) AS p WHERE p.key = 'session_engaged') AS session_engaged,
    (SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = 'source') AS param_source,
    (SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = 'medium') AS param_medium,
    (SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = 'search_term') AS search_term,
    (SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = @no_results_param) AS no_results_term,
    (SELECT p.value.string_value FROM UNNEST(event_params) AS p WHERE p.key = 'currency') AS param_currency,
    (SELECT COALESCE(p.value.double_value, p.value.float_value, CAST(p.value.int_value AS FLOAT64))
     FROM UNNEST(event_params) AS p WHERE p.key = 'value') AS param_value,
    traffic_source.source AS first_touch_source,
    traffic_source.medium AS first_touch_medium,
    device.category AS device_category,
    geo.country AS country,
    ecommerce.transaction_id AS transaction_id,
    ecommerce.purchase_revenue AS purchase_revenue,
    ecommerce.total_item_quantity AS total_item_quantity,
    items
  FROM `{dataset}.events_*`
  WHERE _TABLE_SUFFIX = @day
)
