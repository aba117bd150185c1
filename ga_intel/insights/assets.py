"""Metrics and tasks for a tenant × day, computed in one transaction after the day's GA4
tables (and with the tenant's current master data)."""

import datetime as dt
import warnings

import dagster as dg
import sqlalchemy as sa

from ga_intel.db.locks import lock_partition
from ga_intel.ga4.extract import TABLES as GA4_TABLES
from ga_intel.insights import metrics, tasks
from ga_intel.logs import log_context
from ga_intel.orchestration.partitions import TENANT_DIMENSION, tenant_and_date, tenant_day_partitions
from ga_intel.orchestration.resources import TenantSettingsResource, WarehouseResource

GROUP = "insights"
with warnings.catch_warnings():
    # Beta in Dagster 1.13, but the documented way to depend on a tenant-only asset.
    warnings.simplefilter("ignore", dg.BetaWarning)
    _TENANT_ONLY = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name=TENANT_DIMENSION)
DEPS = [dg.AssetDep(t) for t in GA4_TABLES] + [
    dg.AssetDep(t, partition_mapping=_TENANT_ONLY) for t in ("users", "locations", "sales_reps")
]


class InsightsConfig(dg.Config):
    as_of: str | None = None
    """Compute as if the tenant's local date were this (YYYY-MM-DD): what is stale or
    expired depends on the date a task is computed. Default: today."""


CHECKS = [
    dg.AssetCheckSpec("task_keys_unique", asset="tasks"),
    dg.AssetCheckSpec(
        "task_customers_known", asset="tasks", description="Every task's customer or company exists in the master data."
    ),
    dg.AssetCheckSpec(
        "metrics_reconcile",
        asset="location_daily_metrics",
        description="Branch figures add up to the tenant's, and revenue equals the purchases table.",
    ),
]


@dg.multi_asset(
    specs=[
        dg.AssetSpec(name, group_name=GROUP, deps=DEPS, kinds={"postgres"}, description=desc)
        for name, desc in [
            (
                "tasks",
                "Sales tasks: purchase follow-ups, cart recovery, search follow-ups, repeat visitors (docs/TASKS.md).",
            ),
            ("daily_metrics", "Tenant-wide figures per day (docs/METRICS.md)."),
            ("location_daily_metrics", "Figures per branch per day, with an 'unattributed' bucket."),
            ("search_terms_daily", "Per search term and branch per day."),
            ("bounced_pages_daily", "Sessions and bounced sessions per landing page per day."),
        ]
    ],
    check_specs=CHECKS,
    partitions_def=tenant_day_partitions,
    can_subset=False,
    name="insights_day",
)
def insights_day(
    context: dg.AssetExecutionContext,
    config: InsightsConfig,
    tenant_settings: TenantSettingsResource,
    warehouse: WarehouseResource,
):
    tenant_id, date_key = tenant_and_date(context)
    day = dt.date.fromisoformat(date_key)
    with log_context(tenant=tenant_id, partition=str(context.partition_key)):
        settings = tenant_settings.load(tenant_id)
        today = dt.date.fromisoformat(config.as_of) if config.as_of else None
        with warehouse.tenant_scope(tenant_id) as conn:
            # One insights run per tenant at a time: tasks are the tenant's, and a day's
            # run also replaces its neighbours' metrics. Then wait for a load of this day
            # in flight, so the figures are computed over its committed rows. Always in
            # this order (ingestion takes only the day's lock), so no two runs deadlock.
            lock_partition(conn, "insights", tenant_id)
            lock_partition(conn, "ga4", tenant_id, day)
            run = tasks.compute(conn, tenant_id, day, settings, today)  # first: recoveries feed the metrics
            recomputed = sorted(
                set(metrics.days_to_compute(conn, tenant_id, day, settings))
                | metrics.loaded_days(conn, tenant_id, run.recovered_days)
            )
            figures = {d: metrics.compute(conn, tenant_id, d, settings) for d in recomputed}[day]
            check_rows = _check_queries(conn, tenant_id, day, settings)
    tenant = figures["tenant"]
    yield dg.MaterializeResult(
        asset_key="tasks",
        metadata={
            "upserted": str(run.upserted or "none"),
            "created_stale": run.created_stale,
            "withdrawn": run.withdrawn,
            "carts_waiting_for_data": run.waiting,
            "recovered": run.recovered,
            "expired": run.expired,
            "skipped_cooldown": run.skipped_cooldown,
            "skipped_open_repeat": run.skipped_open_repeat,
        },
    )
    yield dg.MaterializeResult(
        asset_key="daily_metrics",
        metadata={
            "revenue": float(tenant["revenue"]),
            "transactions": tenant["transactions"],
            "sessions": tenant["sessions"],
            "days_recomputed": ", ".join(str(d) for d in recomputed),
        },
    )
    yield dg.MaterializeResult(asset_key="location_daily_metrics", metadata={"branches": len(figures["branches"])})
    yield dg.MaterializeResult(asset_key="search_terms_daily")
    yield dg.MaterializeResult(asset_key="bounced_pages_daily")
    yield dg.AssetCheckResult(
        check_name="task_keys_unique",
        asset_key="tasks",
        passed=check_rows["dup_keys"] == 0,
        metadata={"duplicated_keys": check_rows["dup_keys"]},
    )
    yield dg.AssetCheckResult(
        check_name="task_customers_known",
        asset_key="tasks",
        passed=check_rows["unknown_accounts"] == 0,
        metadata={"tasks_without_known_customer": check_rows["unknown_accounts"]},
    )
    branch_sum = {
        k: sum(float(b[k]) for b in figures["branches"])
        for k in ("revenue", "transactions", "sessions", "engaged_sessions", "cookieless_events")
    }
    reconciled = (
        all(abs(branch_sum[k] - float(tenant[k])) < 0.005 for k in branch_sum)
        and abs(float(tenant["revenue"]) - float(check_rows["counted_revenue"])) < 0.005
    )
    yield dg.AssetCheckResult(
        check_name="metrics_reconcile",
        asset_key="location_daily_metrics",
        passed=reconciled,
        metadata={
            "tenant_revenue": float(tenant["revenue"]),
            "branch_revenue_sum": branch_sum["revenue"],
            "counted_purchases_revenue": float(check_rows["counted_revenue"]),
            "amounts_not_in_reporting_currency": tenant["unconverted_amounts"],
        },
    )


def _check_queries(conn, tenant_id: str, day: dt.date, config) -> dict:
    """Independent of metrics.sql: the day's revenue straight from the purchases table,
    each transaction_id on its earliest day only, in the reporting currency."""
    return dict(
        conn.execute(
            sa.text("""
        SELECT
          (SELECT count(*) - count(DISTINCT task_key) FROM tenant_data.tasks WHERE tenant_id = :tenant) AS dup_keys,
          (SELECT count(*) FROM tenant_data.tasks k WHERE k.tenant_id = :tenant AND NOT EXISTS (
              SELECT 1 FROM tenant_data.users u WHERE u.tenant_id = :tenant
                AND (k.account_key = 'user:' || u.user_id OR k.account_key = 'company:' || u.company_id))
          ) AS unknown_accounts,
          (SELECT coalesce(sum(tenant_data.in_currency(revenue, currency, revenue_in_usd, :currency)), 0)
           FROM (SELECT DISTINCT ON (coalesce(transaction_id, '') || CASE WHEN id_status = 'ok' THEN ''
                                      ELSE ':' || event_timestamp END) *
                 FROM tenant_data.purchases WHERE tenant_id = :tenant AND event_date <= :day
                 ORDER BY coalesce(transaction_id, '') || CASE WHEN id_status = 'ok' THEN ''
                          ELSE ':' || event_timestamp END, event_date, event_timestamp) first_copies
           WHERE event_date = :day) AS counted_revenue
    """),
            {"tenant": tenant_id, "day": day, "currency": config.ga4.reporting_currency},
        )
        .mappings()
        .one()
    )
