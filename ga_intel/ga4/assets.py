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
    dg.AssetCheckSpec(
        "daily_table_present",
        asset=AVAILABILITY,
        description="The GA4 export has a daily table for the day (a missing past day is an alert).",
    ),
    dg.AssetCheckSpec(
        "row_counts_match",
        asset=AVAILABILITY,
        description="Rows written to PostgreSQL equal the rows BigQuery returned, and every exported "
        "event is accounted for: in a session, unsessioned (cookieless), or dropped as an "
        "exact duplicate.",
    ),
    dg.AssetCheckSpec(
        "no_duplicate_transaction_ids",
        asset="purchases",
        description="Each real transaction_id is one row of the day; re-fires of transactions from "
        "other days are reported (they count once, on their earliest day).",
    ),
    dg.AssetCheckSpec(
        "cookieless_share",
        asset="unsessioned_events",
        description="Share of the day's events without a session (consent-mode pings, no "
        "ga_session_id); reported, warns above 50%.",
    ),
    dg.AssetCheckSpec(
        "bad_values_nulled",
        asset=AVAILABILITY,
        description="Amounts and quantities a visitor's browser sent that cannot be real (NaN, "
        "negative, >= 1e10; quantities outside 0..1e7) were loaded as NULL; warns when any.",
    ),
]
COOKIELESS_WARN_SHARE = 0.5


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            t,
            group_name=GROUP,
            skippable=True,
            kinds={"bigquery", "postgres"},
            description=f"GA4 {t.replace('_', ' ')} per tenant × day (docs/DATABASE.md)",
        )
        for t in extract.TABLES
    ]
    + [
        dg.AssetSpec(
            AVAILABILITY,
            group_name=GROUP,
            kinds={"postgres"},
            description="Per tenant × day: the export table's state and what was loaded.",
        )
    ],
    check_specs=CHECKS,
    partitions_def=tenant_day_partitions,
    can_subset=False,
    name="ga4_day",
    retry_policy=TRANSIENT_RETRY_POLICY,
)
def ga4_day(
    context: dg.AssetExecutionContext,
    tenant_settings: TenantSettingsResource,
    bigquery: BigQueryResource,
    warehouse: WarehouseResource,
):
    tenant_id, date_key = tenant_and_date(context)
    with log_context(tenant=tenant_id, partition=str(context.partition_key)):
        day = dt.date.fromisoformat(date_key)
        config = tenant_settings.load(tenant_id)
        # Transient BigQuery errors fail the step and TRANSIENT_RETRY_POLICY re-runs it
        # (bounded, with backoff and jitter); any other error is final at once.
        with transient_only():
            try:
                result = ingest_day(
                    config, bigquery.client(tenant_id), day, run_id=context.run.run_id, log=context.log.info
                )
            except Exception as exc:
                _record_failure(warehouse, tenant_id, day, context.run.run_id, exc)
                if is_transient(exc) and context.retry_number < TRANSIENT_RETRY_POLICY.max_retries:
                    context.log.warning(
                        f"transient error, retry {context.retry_number + 1} of "
                        f"{TRANSIENT_RETRY_POLICY.max_retries} follows: {_message(exc)}"
                    )
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
        yield dg.AssetCheckResult(
            check_name="daily_table_present",
            asset_key=AVAILABILITY,
            passed=False,
            description=result.message,
            metadata={"source_table": result.source_table},
        )
        for check, asset in (
            ("row_counts_match", AVAILABILITY),
            ("no_duplicate_transaction_ids", "purchases"),
            ("cookieless_share", "unsessioned_events"),
            ("bad_values_nulled", AVAILABILITY),
        ):
            yield dg.AssetCheckResult(
                check_name=check,
                asset_key=asset,
                passed=check != "row_counts_match",
                description="not loaded: export table missing",
            )
        return
    for table in extract.TABLES:
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={"rows": result.rows_written[table], "dagster/row_count": result.rows_written[table]},
        )
    yield dg.MaterializeResult(
        asset_key=AVAILABILITY,
        metadata={
            "status": result.status,
            "source_table": result.source_table,
            "bq_row_count": result.bq_row_count,
            "bq_modified_at": str(result.bq_modified_at),
            "optional_export_columns": ", ".join(k for k, v in result.features.items() if v) or "none",
            "read_api": result.read_api,
            "read_api_reason": result.read_api_reason,
        },
    )
    yield dg.AssetCheckResult(
        check_name="daily_table_present",
        asset_key=AVAILABILITY,
        passed=True,
        metadata={"bq_row_count": result.bq_row_count},
    )
    mismatched = {
        t: (result.rows_expected[t], result.rows_written[t])
        for t in extract.TABLES
        if result.rows_expected[t] != result.rows_written[t]
    }
    events_ok = result.events_accounted == result.bq_row_count
    yield dg.AssetCheckResult(
        check_name="row_counts_match",
        asset_key=AVAILABILITY,
        passed=not mismatched and events_ok,
        metadata={
            "bq_events": result.bq_row_count,
            "events_in_sessions": result.events_in_sessions,
            "unsessioned_events": result.unsessioned_events,
            "duplicate_events_dropped": result.quality.get("duplicate_events", 0),
            "mismatched_tables": str(mismatched or "none"),
        },
    )
    with warehouse.tenant_scope(result.tenant_id) as conn:
        row = (
            conn.execute(
                sa.text("""
            WITH day AS (
              SELECT transaction_id FROM tenant_data.purchases
              WHERE tenant_id = :tenant AND event_date = :day AND id_status = 'ok')
            SELECT
              (SELECT count(*) FROM (SELECT transaction_id FROM day GROUP BY 1 HAVING count(*) > 1) x) AS dupes,
              (SELECT count(*) FROM tenant_data.purchases WHERE tenant_id = :tenant AND event_date = :day
                 AND id_status != 'ok') AS flagged,
              (SELECT count(DISTINCT p.transaction_id) FROM tenant_data.purchases p JOIN day USING (transaction_id)
                 WHERE p.tenant_id = :tenant AND p.event_date < :day) AS refires_of_earlier,
              (SELECT count(DISTINCT p.transaction_id) FROM tenant_data.purchases p JOIN day USING (transaction_id)
                 WHERE p.tenant_id = :tenant AND p.event_date > :day) AS refired_later
        """),
                {"tenant": result.tenant_id, "day": result.day},
            )
            .mappings()
            .one()
        )
    yield dg.AssetCheckResult(
        check_name="no_duplicate_transaction_ids",
        asset_key="purchases",
        passed=row["dupes"] == 0,
        metadata={
            "duplicated_ids": row["dupes"],
            "purchases_without_id": row["flagged"],
            "refires_of_earlier_days_not_counted": row["refires_of_earlier"],
            "refired_on_later_days": row["refired_later"],
        },
    )
    kept = (result.bq_row_count or 0) - result.quality.get("duplicate_events", 0)
    share = (result.unsessioned_events or 0) / kept if kept else 0.0
    yield dg.AssetCheckResult(
        check_name="cookieless_share",
        asset_key="unsessioned_events",
        passed=share <= COOKIELESS_WARN_SHARE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"share": round(share, 4), "unsessioned_events": result.unsessioned_events or 0, "events": kept},
    )
    bad = {k: v for k, v in result.quality.items() if k.startswith("bad_") and v}
    yield dg.AssetCheckResult(
        check_name="bad_values_nulled",
        asset_key=AVAILABILITY,
        passed=not bad,
        severity=dg.AssetCheckSeverity.WARN,
        description=("loaded as NULL: " + ", ".join(f"{v} {k[4:].replace('_', ' ')}" for k, v in bad.items()))
        if bad
        else None,
        metadata={"bad_values": sum(bad.values()), **{k: v for k, v in result.quality.items() if k.startswith("bad_")}},
    )
