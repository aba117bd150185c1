"""The GA4 tables as one Dagster multi-asset, partitioned tenant × day.

One multi-asset, because a day's tables are replaced together in one transaction: a
run can never leave `sessions` from one load beside `purchases` from another.
"""


import datetime as dt

import dagster as dg
import sqlalchemy as sa

from ga_intel.errors import GaIntelError
from ga_intel.ga4 import extract
from ga_intel.ga4.ingest import DayResult, ingest_day
from ga_intel.logs import log_context
from ga_intel.orchestration.partitions import tenant_and_date, tenant_day_partitions
from ga_intel.orchestration.resources import BigQueryResource, TenantSettingsResource, WarehouseResource
from ga_intel.orchestration.retries import TRANSIENT_RETRY_POLICY, is_transient, transient_only

GROUP = "ga4"
AVAILABILITY = "data_availability"

CHECKS = [
    dg.AssetCheckSpec("daily_table_present", asset=AVAILABILITY,
                      description="The GA4 export has a daily table for the day (a missing past day is an alert)."),
    dg.AssetCheckSpec("row_counts_match", asset=AVAILABILITY,
                      description="Rows written to PostgreSQL equal the rows BigQuery returned, and every exported "
                                  "event is counted in a session."),
    dg.AssetCheckSpec("no_duplicate_transaction_ids", asset="purchases",
                      description="Each real transaction_id appears once per day."),
    dg.AssetCheckSpec("null_user_pseudo_id_share", asset="sessions",
                      description="Share of sessions without a user_pseudo_id (consent mode); reported, warns above 50%."),
]


@dg.multi_asset(
    specs=[dg.AssetSpec(t, group_name=GROUP, skippable=True, kinds={"bigquery", "postgres"},
                        description=f"GA4 {t.replace('_', ' ')} per tenant × day (docs/DATABASE.md)")
           for t in extract.TABLES]
    + [dg.AssetSpec(AVAILABILITY, group_name=GROUP, kinds={"postgres"},
                    description="Per tenant × day: the export table's state and what was loaded.")],
    check_specs=CHECKS,
    partitions_def=tenant_day_partitions,
    can_subset=False,
    name="ga4_day",
    retry_policy=TRANSIENT_RETRY_POLICY,
)
def ga4_day(context: dg.AssetExecutionContext, tenant_settings: TenantSettingsResource,
            bigquery: BigQueryResource, warehouse: WarehouseResource):
    tenant_id, date_key = tenant_and_date(context)
    with log_context(tenant=tenant_id, partition=str(context.partition_key)):
        day = dt.date.fromisoformat(date_key)
        config = tenant_settings.load(tenant_id)
        # Transient BigQuery errors fail the step and TRANSIENT_RETRY_POLICY re-runs it
        # (bounded, with backoff and jitter); any other error is final at once.
        with transient_only():
            try:
                result = ingest_day(config, bigquery.client(tenant_id), day, run_id=context.run_id,
                                    log=context.log.info)
            except Exception as exc:
                _record_failure(warehouse, tenant_id, day, context.run_id, exc)
                if is_transient(exc) and context.retry_number < TRANSIENT_RETRY_POLICY.max_retries:
                    context.log.warning(f"transient error, retry {context.retry_number + 1} of "
                                        f"{TRANSIENT_RETRY_POLICY.max_retries} follows: {_message(exc)}")
                raise
        yield from _results(result, warehouse)


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, GaIntelError) else f"{type(exc).__name__}: {exc}"


def _record_failure(warehouse: WarehouseResource, tenant_id: str, day: dt.date, run_id: str, exc: Exception) -> None:
    from ga_intel.ga4 import warehouse as wh
    from ga_intel.ga4.ingest import source_table

    message = _message(exc)
    with warehouse.tenant_scope(tenant_id) as conn:
        wh.mark_failed(conn, tenant_id, day, source_table(day), run_id, message)


def _results(result: DayResult, warehouse: WarehouseResource):
    if result.status == "missing":
        yield dg.MaterializeResult(asset_key=AVAILABILITY, metadata={"status": "missing", "message": result.message})
        yield dg.AssetCheckResult(check_name="daily_table_present", asset_key=AVAILABILITY, passed=False,
                                  description=result.message, metadata={"source_table": result.source_table})
        yield dg.AssetCheckResult(check_name="row_counts_match", asset_key=AVAILABILITY, passed=False,
                                  description="no export table to compare with")
        yield dg.AssetCheckResult(check_name="no_duplicate_transaction_ids", asset_key="purchases", passed=True,
                                  description="not loaded: export table missing")
        yield dg.AssetCheckResult(check_name="null_user_pseudo_id_share", asset_key="sessions", passed=True,
                                  description="not loaded: export table missing")
        return
    for table in extract.TABLES:
        yield dg.MaterializeResult(asset_key=table, metadata={
            "rows": result.rows_written[table], "dagster/row_count": result.rows_written[table]})
    yield dg.MaterializeResult(asset_key=AVAILABILITY, metadata={
        "status": result.status, "source_table": result.source_table, "bq_row_count": result.bq_row_count,
        "bq_modified_at": str(result.bq_modified_at)})
    yield dg.AssetCheckResult(check_name="daily_table_present", asset_key=AVAILABILITY, passed=True,
                              metadata={"bq_row_count": result.bq_row_count})
    mismatched = {t: (result.rows_expected[t], result.rows_written[t]) for t in extract.TABLES
                  if result.rows_expected[t] != result.rows_written[t]}
    events_ok = result.events_in_sessions == result.bq_row_count
    yield dg.AssetCheckResult(
        check_name="row_counts_match", asset_key=AVAILABILITY, passed=not mismatched and events_ok,
        metadata={"bq_events": result.bq_row_count, "events_in_sessions": result.events_in_sessions,
                  "mismatched_tables": str(mismatched or "none")},
    )
    with warehouse.tenant_scope(result.tenant_id) as conn:
        dupes = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT transaction_id FROM tenant_data.purchases WHERE tenant_id = :t "
            "AND event_date = :d AND id_status = 'ok' GROUP BY transaction_id HAVING count(*) > 1) x"),
            {"t": result.tenant_id, "d": result.day}).scalar()
        flagged = conn.execute(sa.text(
            "SELECT count(*) FROM tenant_data.purchases WHERE tenant_id = :t AND event_date = :d AND id_status != 'ok'"),
            {"t": result.tenant_id, "d": result.day}).scalar()
    yield dg.AssetCheckResult(check_name="no_duplicate_transaction_ids", asset_key="purchases", passed=dupes == 0,
                              metadata={"duplicated_ids": dupes, "purchases_without_id": flagged})
    sessions = result.rows_written["sessions"]
    share = (result.null_pseudo_id_sessions or 0) / sessions if sessions else 0.0
    yield dg.AssetCheckResult(
        check_name="null_user_pseudo_id_share", asset_key="sessions", passed=share <= 0.5,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"share": round(share, 4), "sessions_without_pseudo_id": result.null_pseudo_id_sessions or 0},
    )
