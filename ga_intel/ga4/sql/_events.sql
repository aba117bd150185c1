{#- The CTEs every GA4 query starts from: one row per GA4 event of one daily table, exact
duplicates dropped, with the columns a query asks for pulled out of the nested records:

    {% import 'ga_intel/ga4/sql/_events.sql' as ev with context %}
    WITH {{ ev.events(['event_name', 'customer_id', ...]) }}, ...

Only the asked-for columns are written out: each is a correlated subquery over
event_params or user_properties, and the BigQuery emulator spends most of a query's time
parsing them.

Bound parameters: @day (YYYYMMDD table suffix), @customer_key, @customer_key_is_user_id,
@fallback_to_user_id, @company_key, @branch_key, @no_results_param. Render options (which
optional columns the export table has; older exports lack them): has_is_active_user,
has_last_click (session_traffic_source_last_click), has_collected_source
(collected_traffic_source). -#}
{% import 'ga_intel/sql_macros/ga4.sql' as ga4 %}

{% macro events(columns) -%}
raw AS (
  SELECT *, TO_JSON_STRING(event_params) AS params_json, TO_JSON_STRING(items) AS items_json
  FROM `{{ dataset }}.events_*`
  WHERE _TABLE_SUFFIX = @day
),
-- An exact duplicate (the same hit exported twice) is dropped before anything is counted:
-- same stream, device, time, name, bundle, parameters and items. `copies` keeps the count.
ranked AS (
  SELECT *,
    ROW_NUMBER() OVER dup AS copy_n,
    COUNT(*) OVER dup AS copies
  FROM raw
  WINDOW dup AS (PARTITION BY stream_id, user_pseudo_id, event_timestamp, event_name, event_bundle_sequence_id,
                              params_json, items_json)
),
events AS (
  SELECT
    {% for column in columns %}
    {{ _column(column) }} AS {{ column }}{{ "," if not loop.last }}
    {% endfor %}
  FROM ranked
  WHERE copy_n = 1
)
{%- endmacro %}

{% macro _column(name) -%}
{%- if name == 'event_time' -%} TIMESTAMP_MICROS(event_timestamp)
{%- elif name in ('event_name', 'event_timestamp', 'event_bundle_sequence_id', 'stream_id', 'user_pseudo_id',
                  'items', 'copies') -%} {{ name }}
{%- elif name == 'ga_session_id' -%} {{ ga4.param("'ga_session_id'", 'int') }}
{%- elif name == 'session_number' -%} {{ ga4.param("'ga_session_number'", 'int') }}
{%- elif name == 'customer_id' -%}
COALESCE(IF(@customer_key_is_user_id, user_id, {{ ga4.user_property('@customer_key') }}),
         IF(@fallback_to_user_id, user_id, NULL))
{%- elif name == 'company_id' -%} {{ ga4.user_property('@company_key') }}
{%- elif name == 'branch_id' -%} {{ ga4.user_property('@branch_key') }}
{%- elif name in ('page_location', 'page_title', 'search_term', 'currency') -%} {{ ga4.param("'" ~ name ~ "'") }}
{%- elif name == 'session_engaged' -%} {{ ga4.param("'session_engaged'", 'any_string') }}
{%- elif name == 'no_results_term' -%} {{ ga4.param('@no_results_param') }}
{%- elif name == 'is_active_user' -%}
{%- if has_is_active_user %} is_active_user{% else %} CAST(NULL AS BOOL){% endif -%}
{#- Session source / medium candidates: GA4's own session-scoped last click where the
    export has it, else the event-scoped source; never the user's first-touch
    traffic_source. sessions.sql takes the first non-null per session. -#}
{%- elif name in ('last_click_source', 'last_click_medium') -%}
{%- if has_last_click %} session_traffic_source_last_click.manual_campaign.{{ name[11:] }}
{%- else %} CAST(NULL AS STRING){% endif -%}
{%- elif name in ('event_source', 'event_medium') -%}
{%- if has_collected_source %} COALESCE(collected_traffic_source.manual_{{ name[6:] }}, {{ ga4.param("'" ~ name[6:] ~ "'") }})
{%- else %} {{ ga4.param("'" ~ name[6:] ~ "'") }}{% endif -%}
{%- elif name == 'param_value' -%} {{ ga4.money(ga4.param("'value'", 'number')) }}
{%- elif name == 'value_in_usd' -%} {{ ga4.money('event_value_in_usd') }}
{%- elif name == 'device_category' -%} device.category
{%- elif name == 'country' -%} geo.country
{%- elif name == 'transaction_id' -%} ecommerce.transaction_id
{%- elif name in ('purchase_revenue', 'purchase_revenue_in_usd', 'refund_value', 'refund_value_in_usd') -%}
{{ ga4.money('ecommerce.' ~ name) }}
{%- elif name == 'total_item_quantity' -%} {{ ga4.quantity('ecommerce.total_item_quantity') }}
{%- else -%}{{ fail("_events.sql: unknown events column " ~ name) }}
{%- endif -%}
{%- endmacro %}
