"""One tenant × day: from the GA4 daily export table to the PostgreSQL tables."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.db.locks import lock_partition
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
    events_in_sessions: int | None = None  # session parts' events
    unsessioned_events: int | None = None  # cookieless / no ga_session_id (sql/unsessioned_events.sql)
    quality: dict[str, int] = field(default_factory=dict)  # sql/day_quality.sql
    features: dict[str, bool] = field(default_factory=dict)  # optional export columns present
    read_api: str | None = None  # storage | rest (extract.read_path)
    read_api_reason: str | None = None
    message: str | None = None

    @property
    def events_accounted(self) -> int | None:
        """Exported events the loaded tables account for: in sessions, unsessioned, or
        dropped as exact duplicates. Equal to the export's row count when nothing was lost."""
        if self.events_in_sessions is None:
            return None
        return self.events_in_sessions + (self.unsessioned_events or 0) + self.quality.get("duplicate_events", 0)


def source_table(day: dt.date, intraday: bool = False) -> str:
    return f"events_{'intraday_' if intraday else ''}{day:%Y%m%d}"


INTRADAY_DAYS = 1  # today and yesterday: older days either have their daily table or are missing


def local_today(timezone: str, now: dt.datetime | None = None) -> dt.date:
    now = now or dt.datetime.now(dt.UTC)
    return now.astimezone(ZoneInfo(timezone)).date()


def status_for(day: dt.date, timezone: str, now: dt.datetime | None = None) -> str:
    """'provisional' while GA4 may still restate the day, then 'complete'."""
    return "provisional" if (local_today(timezone, now) - day).days <= RESTATEMENT_DAYS else "complete"


def ingest_day(config: TenantConfig, client, day: dt.date, run_id: str | None = None, log=None) -> DayResult:
    """Replace the tenant's GA4 tables for `day`; a missing export table changes no data
    (unless the tenant loads intraday tables: then a recent day without its daily table
    is loaded from `events_intraday_<day>`, marked provisional)."""
    from ga_intel.connectors.bigquery import explain

    settings = config.bigquery
    name = source_table(day)
    result = DayResult(config.id, day, name, status="missing")
    intraday = False
    table = _table(client, settings, name)
    if table is None:
        # Either the day's table or the whole dataset is missing: say which.
        try:
            client.get_dataset(f"{settings.project_id}.{settings.dataset_id}", timeout=BQ_TIMEOUT_SECONDS)
        except Exception as exc:
            raise explain(exc, settings) from None
        result.message = (
            f"{settings.project_id}.{settings.dataset_id}.{name} does not exist: GA4 has not exported "
            f"this day (yet), or the export stopped"
        )
        if config.ga4.load_intraday and (local_today(config.timezone) - day).days <= INTRADAY_DAYS:
            table = _table(client, settings, source_table(day, intraday=True))
            intraday = table is not None
        if not intraday:
            with tenant_scope(config.id) as conn:
                lock_partition(conn, "ga4", config.id, day)
                warehouse.record_availability(
                    conn, config.id, day, source_table=name, status="missing", run_id=run_id, message=result.message
                )
            return result
        # A stand-in until the daily table lands; the sensor then reloads the day from it.
        name = result.source_table = source_table(day, intraday=True)
        result.message = f"provisional: loaded from {name} while the daily table is not exported yet"

    result.bq_row_count = table.num_rows
    result.bq_modified_at = table.modified
    result.features = extract.export_features(table.schema, f"{settings.project_id}.{settings.dataset_id}.{name}")
    path = extract.read_path(settings)
    try:
        # Start every query first: BigQuery runs them side by side while we read.
        streams = [
            extract.stream(
                client, t, day, settings, config.ga4, config.timezone, result.features, intraday=intraday, path=path
            )
            for t in extract.TABLES
        ]
        result.quality = extract.quality(
            client, day, settings, config.ga4, config.timezone, result.features, intraday=intraday
        )
    except Exception as exc:
        raise explain(exc, settings) from None
    result.status = "provisional" if intraday else status_for(day, config.timezone)
    try:
        store_day(config, day, streams, result, run_id=run_id, log=log, message=result.message if intraday else None)
    finally:
        # After the reads: a refused read session changes the path on the way.
        result.read_api, result.read_api_reason = path.api, path.reason
    if log:
        log(
            f"{config.id} {day}: results read over {'the Storage Read API' if path.api == 'storage' else 'REST'} "
            f"({path.reason})"
        )
    return result


def store_day(
    config: TenantConfig,
    day: dt.date,
    streams,
    result: DayResult,
    run_id: str | None = None,
    log=None,
    message: str | None = None,
) -> DayResult:
    """Our side of a day: replace its rows with the streams' Arrow batches, count the events
    they account for and record the day's availability, in one transaction; then refresh
    the planner's statistics. `ga-intel bench replay` calls this with batches from files."""
    with tenant_scope(config.id) as conn:
        # Another run of this tenant-day (the refresh schedule and the export sensor can
        # both ask for it) waits here until ours commits, then replaces what we wrote:
        # without it both copies survive (docs/SECURITY.md, finding 6).
        lock_partition(conn, "ga4", config.id, day)
        warehouse.delete_day(conn, extract.TABLES, config.id, day)
        for s in streams:
            result.rows_expected[s.table] = s.rows_expected
            result.rows_written[s.table] = warehouse.copy_batches(conn, s.table, s.batches, config.id, day)
            if log:
                log(f"{config.id} {day}: {s.table} {result.rows_written[s.table]} rows")
        in_sessions, unsessioned = conn.execute(
            sa.text(
                "SELECT (SELECT coalesce(sum(event_count), 0) FROM tenant_data.sessions "
                "        WHERE tenant_id = :tenant AND event_date = :day), "
                "       (SELECT coalesce(sum(events), 0) FROM tenant_data.unsessioned_events "
                "        WHERE tenant_id = :tenant AND event_date = :day)"
            ),
            {"tenant": config.id, "day": day},
        ).one()
        result.events_in_sessions, result.unsessioned_events = int(in_sessions), int(unsessioned)
        warehouse.record_availability(
            conn,
            config.id,
            day,
            source_table=result.source_table,
            status=result.status,
            bq_modified_at=result.bq_modified_at,
            bq_row_count=result.bq_row_count,
            rows_written=result.rows_written,
            run_id=run_id,
            message=message,
            quality=result.quality,
        )
    from ga_intel.db.bulk import refresh_statistics

    refresh_statistics(config.id, result.rows_written)  # the insights of this run are planned on these
    return result


def _table(client, settings, name: str):
    """The export table `name`, or None if it does not exist."""
    from google.api_core import exceptions as gexc
    from google.api_core.retry import Retry

    from ga_intel.connectors.bigquery import explain

    try:
        return client.get_table(
            f"{settings.project_id}.{settings.dataset_id}.{name}",
            retry=Retry(timeout=BQ_TIMEOUT_SECONDS),
            timeout=BQ_TIMEOUT_SECONDS,
        )
    except gexc.NotFound:
        return None
    except ServiceError:
        raise
    except Exception as exc:
        raise explain(exc, settings) from None
