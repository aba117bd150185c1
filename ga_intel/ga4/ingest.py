"""One tenant × day: from the GA4 daily export table to the PostgreSQL tables."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.errors import ServiceError
from ga_intel.ga4 import extract, warehouse
from ga_intel.tenancy.tenant_file import TenantConfig

# GA4 keeps changing a daily table for up to 72 hours after the day.
RESTATEMENT_DAYS = 3
# Per BigQuery call, retries included; tests shorten it for dead endpoints.
BQ_TIMEOUT_SECONDS = float(os.environ.get("GA_INTEL_BIGQUERY_TIMEOUT", "60"))


@dataclass
class DayResult:
    tenant_id: str
    day: dt.date
    source_table: str
    status: str  # complete | provisional | missing
    bq_row_count: int | None = None
    bq_modified_at: dt.datetime | None = None
    rows_expected: dict[str, int] = field(default_factory=dict)
    rows_written: dict[str, int] = field(default_factory=dict)
    events_in_sessions: int | None = None
    null_pseudo_id_sessions: int | None = None
    message: str | None = None


def source_table(day: dt.date) -> str:
    return f"events_{day:%Y%m%d}"


def local_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.timezone.utc)
    return now.astimezone(ZoneInfo(timezone)).date()


def status_for(day: dt.date, timezone: str, now: dt.datetime | None = None) -> str:
    """'provisional' while GA4 may still restate the day, then 'complete'."""
    return "provisional" if (local_today(timezone, now) - day).days <= RESTATEMENT_DAYS else "complete"


def ingest_day(config: TenantConfig, client, day: dt.date, run_id: str | None = None, log=None) -> DayResult:
    """Replace the tenant's GA4 tables for `day`; a missing export table changes no data."""
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry

    from ga_intel.connectors.bigquery import explain

    settings = config.bigquery
    name = source_table(day)
    result = DayResult(config.id, day, name, status="missing")
    try:
        table = client.get_table(f"{settings.project_id}.{settings.dataset_id}.{name}",
                                 retry=Retry(timeout=BQ_TIMEOUT_SECONDS), timeout=BQ_TIMEOUT_SECONDS)
    except gexc.NotFound:
        # Either the day's table or the whole dataset is missing: say which.
        try:
            client.get_dataset(f"{settings.project_id}.{settings.dataset_id}", timeout=BQ_TIMEOUT_SECONDS)
        except Exception as exc:
            raise explain(exc, settings) from None
        result.message = (f"{settings.project_id}.{settings.dataset_id}.{name} does not exist: GA4 has not exported "
                          f"this day (yet), or the export stopped")
        with tenant_scope(config.id) as conn:
            warehouse.record_availability(conn, config.id, day, source_table=name, status="missing", run_id=run_id,
                                          message=result.message)
        return result
    except ServiceError:
        raise
    except Exception as exc:
        raise explain(exc, settings) from None

    result.bq_row_count = table.num_rows
    result.bq_modified_at = table.modified
    try:
        # Start every query first: BigQuery runs them side by side while we page.
        streams = [extract.stream(client, t, day, settings, config.ga4) for t in extract.TABLES]
    except Exception as exc:
        raise explain(exc, settings) from None
    result.status = status_for(day, config.timezone)
    with tenant_scope(config.id) as conn:
        warehouse.delete_day(conn, extract.TABLES, config.id, day)
        for s in streams:
            result.rows_expected[s.table] = s.rows_expected
            result.rows_written[s.table] = warehouse.copy_batches(conn, s.table, s.batches, config.id, day)
            if log:
                log(f"{config.id} {day}: {s.table} {result.rows_written[s.table]} rows")
        events, null_ids = conn.execute(
            sa.text("SELECT coalesce(sum(event_count), 0), count(*) FILTER (WHERE user_pseudo_id IS NULL) "
                    "FROM tenant_data.sessions WHERE tenant_id = :t AND event_date = :d"),
            {"t": config.id, "d": day},
        ).one()
        result.events_in_sessions, result.null_pseudo_id_sessions = int(events), int(null_ids)
        warehouse.record_availability(
            conn, config.id, day, source_table=name, status=result.status, bq_modified_at=table.modified,
            bq_row_count=table.num_rows, rows_written=result.rows_written, run_id=run_id,
        )
    return result
