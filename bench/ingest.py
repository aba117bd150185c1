"""GA4 ingestion benchmarks.

- load stage: rows/s of the PostgreSQL load (Arrow -> CSV -> COPY into a staging table ->
  INSERT under row-level security), against a server-side COPY of the same rows from a
  file (the ceiling) and `DataFrame.to_sql` (the naive baseline), in the same run;
- end to end: one tenant-day of synthetic GA4 events through the BigQuery emulator and
  the real queries into PostgreSQL, with this process's peak RSS.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from bench.common import Measurement, compare, interleaved_ratio, peak_rss_mb, postgres_server, timed
from ga_intel.ga4.extract import TABLES

TENANT = "bench"


def _sessions_rows(n: int) -> pa.Table:
    """Rows shaped like the sessions query's output (sql/sessions.sql's 22 columns)."""
    rng = random.Random(1)
    base = dt.datetime(2024, 3, 4, tzinfo=dt.UTC)
    starts = [base + dt.timedelta(seconds=rng.randint(0, 86_000)) for _ in range(n)]
    return pa.table(
        {
            "user_pseudo_id": [f"{rng.randint(10**8, 10**9)}.{i}" for i in range(n)],
            "stream_id": ["1234567890"] * n,
            "ga_session_id": pa.array([1_700_000_000 + i for i in range(n)], pa.int64()),
            "customer_id": [str(100001 + i % 5000) if i % 3 == 0 else None for i in range(n)],
            "company_id": [f"C{i % 400:04d}" if i % 3 == 0 else None for i in range(n)],
            "branch_id": [("CHI", "MKE", "IND")[i % 3] if i % 3 == 0 else None for i in range(n)],
            "session_start": pa.array(starts, pa.timestamp("us", "UTC")),
            "session_end": pa.array([s + dt.timedelta(seconds=90) for s in starts], pa.timestamp("us", "UTC")),
            "page_views": pa.array([rng.randint(1, 12) for _ in range(n)], pa.int64()),
            "engaged": [rng.random() < 0.7 for _ in range(n)],
            "source": ["google"] * n,
            "medium": ["organic"] * n,
            "device_category": ["desktop"] * n,
            "country": ["United States"] * n,
            "landing_page": [f"https://shop.example/p/{i % 900}" for i in range(n)],
            "had_add_to_cart": [i % 4 == 0 for i in range(n)],
            "had_purchase": [i % 20 == 0 for i in range(n)],
            "event_count": pa.array([rng.randint(2, 30) for _ in range(n)], pa.int64()),
            "session_number": pa.array([1 + i % 7 for i in range(n)], pa.int64()),
            "new_user": [i % 7 == 0 for i in range(n)],
            "active_user": [True] * n,
            "continues_earlier": [False] * n,
        }
    )


def load_stage(rows: int, echo: Callable[[str], None], pairs: int = 5) -> list[Measurement]:
    import pyarrow.csv as pacsv

    from ga_intel.db import tenant_scope
    from ga_intel.db.engine import owner_engine as engine  # VACUUM, DDL: the owner's
    from ga_intel.ga4 import warehouse

    table = _sessions_rows(rows)
    day = dt.date(2024, 3, 4)
    batches = table.to_batches(max_chunksize=50_000)

    def replace():
        """What a re-run does: delete the day's rows and load them again, one transaction."""
        with tenant_scope(TENANT) as conn:
            warehouse.delete_day(conn, ["sessions"], TENANT, day)
            return warehouse.copy_batches(conn, "sessions", batches, TENANT, day)

    def ours():
        """The load stage alone: Arrow batches -> CSV -> staging COPY -> INSERT under RLS,
        into a day with no rows (as the ceiling loads into an emptied table)."""
        with tenant_scope(TENANT) as conn:
            return warehouse.copy_batches(conn, "sessions", batches, TENANT, day)

    def empty_day():
        with tenant_scope(TENANT) as conn:
            warehouse.delete_day(conn, ["sessions"], TENANT, day)
        with engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM tenant_data.sessions"))  # the ceiling's TRUNCATE leaves no dead rows

    replace()  # warm-up (plans, caches)

    # Ceiling: the server reading the same rows as CSV from a file, into a plain table.
    keyed = pa.Table.from_batches([warehouse._with_keys(b, TENANT, day) for b in batches])
    folder = Path(tempfile.mkdtemp(prefix="ga-intel-bench-"))
    folder.chmod(0o755)
    csv_path = folder / "sessions.csv"
    pacsv.write_csv(keyed, csv_path, write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    csv_path.chmod(0o644)
    columns = ", ".join(f'"{c}"' for c in keyed.schema.names)
    with engine().begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS public.bench_copy_ceiling"))
        # Same columns and indexes as the real table: the ceiling differs only in how rows arrive.
        conn.execute(sa.text("CREATE TABLE public.bench_copy_ceiling (LIKE tenant_data.sessions INCLUDING ALL)"))

    def ceiling():
        with engine().begin() as conn:
            conn.execute(sa.text(f"COPY public.bench_copy_ceiling ({columns}) FROM '{csv_path}' WITH (FORMAT csv)"))

    def empty_ceiling():
        with engine().begin() as conn:
            conn.execute(sa.text("TRUNCATE public.bench_copy_ceiling"))

    empty_ceiling()
    ceiling()  # warm-up

    def ours_rate():
        empty_day()
        elapsed, written = timed(ours)
        assert written == rows
        return rows / elapsed

    def replace_rate():  # the day holds the previous load's rows: every step before leaves them
        elapsed, written = timed(replace)
        assert written == rows
        return rows / elapsed

    def ceiling_rate():
        empty_ceiling()
        return rows / timed(ceiling)[0]

    # Ours and the ceiling in pairs, one right after the other (alternating which goes
    # first): the shared machine's load swings the absolute rates, not a pair's ratio.
    load = interleaved_ratio(
        "ingest.load_stage_rows_per_s",
        ours_rate,
        ceiling_rate,
        "rows/s",
        "server-side COPY from a file",
        pairs=pairs,
        note=f"{rows:,} session rows, {table.num_columns + 2} columns, into an empty day "
        "(ceiling: an emptied table); Arrow -> CSV included; median of per-pair ratios",
    )
    replaced = interleaved_ratio(
        "ingest.replace_day_rows_per_s",
        replace_rate,
        ceiling_rate,
        "rows/s",
        "server-side COPY from a file",
        pairs=pairs,
        note="a re-run: delete the day's rows and load them again in one transaction",
    )

    # Naive baseline on a slice (to_sql is slow); a rate is a rate.
    naive_rows = min(rows, 20_000)
    frame = keyed.slice(0, naive_rows).to_pandas()

    def naive():
        with engine().begin() as conn:
            conn.execute(sa.text("TRUNCATE public.bench_copy_ceiling"))
        frame.to_sql("bench_copy_ceiling", engine(), schema="public", if_exists="append", index=False)

    t_naive, _ = timed(naive)
    with engine().begin() as conn:
        conn.execute(sa.text("DROP TABLE public.bench_copy_ceiling"))
    with tenant_scope(TENANT) as conn:
        warehouse.delete_day(conn, ["sessions"], TENANT, day)
    csv_path.unlink()
    folder.rmdir()

    return [
        load,
        replaced,
        compare(
            "ingest.load_stage_vs_to_sql",
            load.value,
            "rows/s",
            "DataFrame.to_sql",
            naive_rows / t_naive,
            note=f"to_sql timed once on {naive_rows:,} rows; ours: the median above",
        ),
    ]


def end_to_end(events: int, echo: Callable[[str], None]) -> list[Measurement]:
    from ga_intel.connectors.bigquery import client as bq_client
    from ga_intel.demo import generator
    from ga_intel.devservices.bigquery_emulator import BigQueryEmulator
    from ga_intel.ga4 import load
    from ga_intel.ga4.ingest import ingest_day
    from ga_intel.tenancy.tenant_file import validate

    day = dt.date(2024, 3, 4)
    folder = Path(tempfile.mkdtemp(prefix="ga-intel-bench-ga4-"))
    t_gen, _ = timed(generator.write_days, folder, day, 1, events, progress=None)
    with BigQueryEmulator("bench-project") as emulator:
        config = validate(
            {
                "id": TENANT,
                "name": "Bench",
                "timezone": "America/Chicago",
                "bigquery": {"project_id": "bench-project", "dataset_id": "ga", "api_endpoint": emulator.endpoint},
                "folder": {},  # the tenant's drop folder under GA_INTEL_FOLDER_ROOT
                "smtp": {"server": "127.0.0.1", "from_name": "b", "from_address": "b@bench.example"},
            },
            "bench",
        )
        client = bq_client(config.bigquery)
        t_load, _ = timed(load.load_folder, client, "bench-project.ga", folder, progress=lambda m: None)
        rss_before = peak_rss_mb()
        t_ingest, result = timed(ingest_day, config, client, day)
    t_insights, insights_note = _insights(config, day)
    for p in folder.iterdir():
        p.unlink()
    folder.rmdir()
    rows = sum(result.rows_written.values())
    return [
        Measurement(
            f"insights.metrics_and_tasks_{events // 1000}k_events_s", round(t_insights, 2), "s", note=insights_note
        ),
        Measurement(
            f"ingest.end_to_end_{events // 1000}k_events_s",
            round(t_ingest, 2),
            "s",
            note=f"{result.bq_row_count:,} events -> {rows:,} rows in 7 tables via the BigQuery emulator; "
            f"generate {t_gen:.1f} s, emulator load {t_load:.1f} s not included",
        ),
        compare(
            f"ingest.end_to_end_{events // 1000}k_events_per_s",
            result.bq_row_count / t_ingest,
            "events/s",
            "emulator load job of the same day (events/s)",
            result.bq_row_count / t_load,
        ),
        Measurement(
            f"ingest.peak_rss_{events // 1000}k_events_mb",
            round(peak_rss_mb(), 1),
            "MB",
            note=f"this process (the emulator runs apart); {rss_before:.0f} MB before ingest",
        ),
    ]


def _insights(config, day: dt.date) -> tuple[float, str]:
    """Metrics and tasks of the ingested day (the insights asset's work), with the demo
    master data the generator's customers belong to."""
    from ga_intel.connectors import folder as folder_source
    from ga_intel.db import tenant_scope
    from ga_intel.demo.master_data import write_files
    from ga_intel.insights import metrics, tasks
    from ga_intel.masterdata import load as md_load
    from ga_intel.tenancy import folders

    write_files(folders.tenant_root(config.id))
    md_load.load(
        config, md_load.fetch(lambda: folder_source.open_session(config.folder, config.id), config), force=True
    )

    def compute():
        with tenant_scope(config.id) as conn:
            run = tasks.compute(conn, config.id, day, config, today=day + dt.timedelta(days=1))
            for other in metrics.days_to_compute(conn, config.id, day, config):
                metrics.compute(conn, config.id, other, config)
            return run

    t, run = timed(compute)
    with tenant_scope(config.id) as conn:  # leave nothing of the bench tenant behind
        for table in (
            "tasks",
            "daily_metrics",
            "location_daily_metrics",
            "search_terms_daily",
            "bounced_pages_daily",
            "users",
            "locations",
            "sales_reps",
            "master_data_files",
            *TABLES,
            "data_availability",
        ):
            conn.execute(sa.text(f"DELETE FROM tenant_data.{table}"))
    return t, f"tasks upserted {sum(run.upserted.values()):,}, metrics for the tenant and each branch"


def run(echo: Callable[[str], None], rows: int = 200_000, events: tuple[int, ...] = (100_000,)) -> list[Measurement]:
    from ga_intel.db import control

    with control() as conn:  # the bench tenant, so tenant_scope has a home
        conn.execute(
            sa.text(
                "INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:tenant, 'Bench', 'UTC') "
                "ON CONFLICT DO NOTHING"
            ),
            {"tenant": TENANT},
        )
    out = load_stage(rows, echo)
    for n in events:
        out += end_to_end(n, echo)
    server = postgres_server()
    for m in out:
        m.server = server
    with control() as conn:
        conn.execute(sa.text("DELETE FROM control.tenants WHERE tenant_id = :tenant"), {"tenant": TENANT})
    return out
