"""Fill the demo tenant with data: synthetic GA4 days in the BigQuery emulator, then the
pipeline for each day. Resumable: days already in the emulator are not regenerated, and
days already loaded in PostgreSQL from the same export table are skipped.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable

import sqlalchemy as sa

from ga_intel import demo

DAYS = int(os.environ.get("GA_INTEL_DEMO_DAYS", "30"))
EVENTS_PER_DAY = int(os.environ.get("GA_INTEL_DEMO_EVENTS", "5000"))


def demo_days(today: dt.date) -> list[dt.date]:
    return [today - dt.timedelta(days=n) for n in range(DAYS, 0, -1)]


def ensure_export(client, days: list[dt.date], echo: Callable[[str], None]) -> None:
    """Generate and load the export tables the emulator does not have yet."""
    import io
    import json

    from ga_intel.connectors.bigquery import daily_tables
    from ga_intel.demo import generator
    from ga_intel.ga4 import load
    from ga_intel.tenancy import store

    settings = store.get(demo.DEMO_TENANT).bigquery
    dataset = f"{settings.project_id}.{settings.dataset_id}"
    client.create_dataset(dataset, exists_ok=True)
    present = set(daily_tables(client, settings))
    missing = [d for d in days if f"{d:%Y%m%d}" not in present]
    for i, day in enumerate(missing, 1):
        buf = io.BytesIO()
        for row in generator.generate_day(day, generator.day_volume(day, EVENTS_PER_DAY), timezone="America/Chicago"):
            buf.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
        buf.seek(0)
        n = load.load_day(client, dataset, f"{day:%Y%m%d}", buf)
        echo(f"  demo GA4 export [{i}/{len(missing)}] events_{day:%Y%m%d}: {n} events")


def already_loaded(client, day: dt.date) -> str | None:
    """A reason to skip `day`: PostgreSQL holds it from the export table as it is now."""
    from ga_intel.db import tenant_scope
    from ga_intel.tenancy import store

    settings = store.get(demo.DEMO_TENANT).bigquery
    table = client.get_table(f"{settings.project_id}.{settings.dataset_id}.events_{day:%Y%m%d}")
    with tenant_scope(demo.DEMO_TENANT) as conn:
        row = conn.execute(
            sa.text(
                "SELECT status, bq_modified_at FROM tenant_data.data_availability WHERE tenant_id = :tenant AND event_date = :d"
            ),
            {"tenant": demo.DEMO_TENANT, "d": day},
        ).first()
    if row and row.status in ("complete", "provisional") and row.bq_modified_at == table.modified:
        return "already loaded"
    return None


def seed_master_data(config, echo: Callable[[str], None]) -> None:
    """Demo xlsx files in the demo folder (once), then the master-data asset."""

    from ga_intel.demo.master_data import write_files
    from ga_intel.orchestration.run import load_master_data
    from ga_intel.tenancy import folders

    folder = folders.resolve(config.id, config.folder.path)
    if not (folder / config.folder.user_file).exists():
        write_files(folder)
    load_master_data(demo.DEMO_TENANT, echo=echo, trigger="make dev")  # its lines start with the tenant id


def seed(echo: Callable[[str], None], stop: Callable[[], bool], dashboard_url: str | None = None) -> None:
    from ga_intel.connectors.bigquery import client as bq_client
    from ga_intel.ga4.ingest import local_today
    from ga_intel.orchestration.run import run_days
    from ga_intel.tenancy import store

    config = store.get(demo.DEMO_TENANT)
    seed_master_data(config, echo)
    days = demo_days(local_today(config.timezone))
    client = bq_client(config.bigquery)
    echo(
        f"demo: {len(days)} days of synthetic GA4 data (about {EVENTS_PER_DAY} events a weekday, fewer at weekends) ..."
    )
    ensure_export(client, days, echo)
    failed = run_days(
        demo.DEMO_TENANT,
        days,
        echo=lambda line: echo("  " + line),
        skip=lambda d: already_loaded(client, d),
        stop=stop,
        trigger="make dev",
    )
    echo("demo: data loaded" + (f" ({failed} day(s) failed; see the Dagster UI)" if failed else ""))
    if dashboard_url and not stop():
        from ga_intel.demo import summary

        echo("")
        for line in summary.lines(demo.DEMO_TENANT, dashboard_url):
            echo(line)
