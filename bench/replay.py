"""Our side of a GA4 day, measured without the emulator (`ga-intel bench replay`).

Once per size, a generated day goes through the BigQuery emulator and the real queries,
and each table's Arrow record batches, as the extract receives them, are written to an
Arrow IPC stream file (`$GA_INTEL_HOME/bench-arrow/<events>/<table>.arrow`, kept for the
next run). Then a fresh child process replays them: the files are read batch by batch
(no memory map, so a batch is resident only while it is in flight, as from the network),
through the same Python finish (`extract.transformed`) and `ingest.store_day` into
PostgreSQL, followed by the insights' metrics and tasks. The child reports its times and
peak RSS; RSS after its imports is the same-run baseline.

Capturing goes through the emulator, about 45 s per 100k events on a quiet machine and
several times that on a busy one, so larger days are made from the captured one:
`--events 300000` replays the 100k day's batches three times, each copy's
`user_pseudo_id` and `transaction_id` suffixed and `event_timestamp` moved by a
microsecond per copy, so its visitors and orders are its own.
That is a day of the same shape with three times the rows, which is what memory and load
time depend on; its tasks and metrics differ from a real day of that size.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import Measurement, compare, postgres_server

TENANT = "bench"
DAY = dt.date(2024, 3, 4)
CAPTURED_EVENTS = 100_000
DISTINCT_PER_COPY = ("user_pseudo_id", "transaction_id")


def _config(endpoint: str = "http://127.0.0.1:9"):
    from ga_intel.tenancy.tenant_file import validate

    return validate(
        {
            "id": TENANT,
            "name": "Bench",
            "timezone": "America/Chicago",
            "bigquery": {"project_id": "bench-project", "dataset_id": "ga", "api_endpoint": endpoint},
            "folder": {},  # the tenant's drop folder under GA_INTEL_FOLDER_ROOT, where _insights writes
            "smtp": {"server": "127.0.0.1", "from_name": "b", "from_address": "b@bench.example"},
        },
        "bench",
    )


def capture_folder(events: int) -> Path:
    from ga_intel import settings

    return settings.home() / "bench-arrow" / f"{events}"


def capture(events: int, echo: Callable[[str], None]) -> Path:
    """Write the day's extract batches to Arrow IPC files (once; later runs reuse them)."""
    import pyarrow as pa
    from google.cloud import bigquery

    from ga_intel.connectors.bigquery import client as bq_client
    from ga_intel.demo import generator
    from ga_intel.devservices.bigquery_emulator import BigQueryEmulator
    from ga_intel.ga4 import extract, load

    out = capture_folder(events)
    if (out / "meta.json").is_file():
        return out
    out.mkdir(parents=True, exist_ok=True)
    echo(f"capturing the extract of a {events:,}-event day (once) into {out} ...")
    src = Path(tempfile.mkdtemp(prefix="ga-intel-bench-replay-"))
    generator.write_days(src, DAY, 1, events, progress=None)
    with BigQueryEmulator("bench-project") as emulator:
        config = _config(emulator.endpoint)
        client = bq_client(config.bigquery)
        load.load_folder(client, "bench-project.ga", src, progress=lambda m: None)
        table = client.get_table(f"bench-project.ga.events_{DAY:%Y%m%d}")
        features = extract.export_features(table.schema)
        meta = {
            "events": table.num_rows,
            "features": features,
            "rows_expected": {},
            "quality": extract.quality(client, DAY, config.bigquery, config.ga4, config.timezone, features),
        }
        for name in extract.TABLES:
            job = client.query(
                extract.query_text(name, config.bigquery, features),
                job_config=bigquery.QueryJobConfig(
                    query_parameters=extract.query_parameters(DAY, config.ga4, config.timezone)
                ),
            )
            rows = job.result(page_size=50_000)
            meta["rows_expected"][name] = rows.total_rows or 0
            writer = None
            for batch in rows.to_arrow_iterable():
                if writer is None:
                    writer = pa.ipc.new_stream(out / f"{name}.arrow", batch.schema)
                writer.write_batch(batch)
            if writer is not None:
                writer.close()
    for p in src.iterdir():
        p.unlink()
    src.rmdir()
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def replay_child(folder: Path, copies: int = 1) -> dict:
    """In a fresh process: the captured day (`copies` times) into PostgreSQL, then metrics
    and tasks."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from bench.common import peak_rss_mb
    from bench.ingest import _insights
    from ga_intel.ga4 import extract
    from ga_intel.ga4.ingest import DayResult, store_day

    meta = json.loads((folder / "meta.json").read_text())
    config = _config()
    rss_before = peak_rss_mb()

    def batches(name: str):
        path = folder / f"{name}.arrow"
        if not path.is_file():
            return
        for copy in range(copies):
            with pa.OSFile(str(path)) as f:  # read, not mapped: a batch is resident while in flight
                for batch in pa.ipc.open_stream(f):
                    yield _distinct(batch, copy) if copy else batch

    def _distinct(batch, copy: int):
        for column in DISTINCT_PER_COPY:
            i = batch.schema.get_field_index(column)
            if i >= 0:
                batch = batch.set_column(
                    i, batch.schema.field(i), pc.binary_join_element_wise(batch.column(i), f"~{copy}", "")
                )
        # Order-less purchases are keyed by account and timestamp: a copy's are a microsecond on.
        i = batch.schema.get_field_index("event_timestamp")
        if i >= 0:
            batch = batch.set_column(i, batch.schema.field(i), pc.add(batch.column(i), copy))
        return batch

    meta["rows_expected"] = {k: v * copies for k, v in meta["rows_expected"].items()}
    meta["events"] *= copies
    meta["quality"] = {k: v * copies for k, v in meta["quality"].items()}
    streams = [
        extract.TableStream(name, meta["rows_expected"][name], extract.transformed(name, batches(name), config.ga4))
        for name in extract.TABLES
    ]
    result = DayResult(
        TENANT,
        DAY,
        f"events_{DAY:%Y%m%d}",
        status="complete",
        bq_row_count=meta["events"],
        quality=meta["quality"],
        features=meta["features"],
    )
    start = time.perf_counter()
    store_day(config, DAY, streams, result)
    t_load = time.perf_counter() - start
    rss_load = peak_rss_mb()
    t_insights, note = _insights(config, DAY)
    return {
        "events": meta["events"],
        "rows": sum(result.rows_written.values()),
        "rows_ok": result.rows_written == meta["rows_expected"],
        "events_ok": result.events_accounted == meta["events"],
        "load_s": t_load,
        "insights_s": t_insights,
        "insights_note": note,
        "rss_before_mb": rss_before,
        "rss_after_load_mb": rss_load,
        "rss_peak_mb": peak_rss_mb(),
    }


def run(echo: Callable[[str], None], events: tuple[int, ...] = (100_000,)) -> list[Measurement]:
    import sqlalchemy as sa

    from ga_intel.db import control
    from ga_intel.devrun import REPO

    out = []
    for n in events:
        size = n if n < CAPTURED_EVENTS else CAPTURED_EVENTS
        if n % size:
            raise ValueError(f"--events {n}: replay sizes above {CAPTURED_EVENTS:,} are multiples of it")
        folder = capture(size, echo)
        with control() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO control.tenants (tenant_id, name, timezone) VALUES (:tenant, 'Bench', 'UTC') "
                    "ON CONFLICT DO NOTHING"
                ),
                {"tenant": TENANT},
            )
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import json, sys; from pathlib import Path; "
                    "from bench.replay import replay_child; "
                    "print(json.dumps(replay_child(Path(sys.argv[1]), int(sys.argv[2]))))",
                    str(folder),
                    str(n // size),
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
            )
        finally:
            with control() as conn:
                conn.execute(sa.text("DELETE FROM control.tenants WHERE tenant_id = :tenant"), {"tenant": TENANT})
        if done.returncode:
            raise RuntimeError(f"the replay child failed:\n{done.stderr[-3000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        if not (r["rows_ok"] and r["events_ok"]):
            raise RuntimeError(f"the replay wrote other rows than the extract returned: {r}")
        k = f"{n // 1000}k"
        total = r["load_s"] + r["insights_s"]
        out += [
            Measurement(
                f"replay.our_side_{k}_events_s",
                round(total, 2),
                "s",
                note=f"{r['events']:,} events ({n // size} x the captured {size:,}-event day) -> "
                f"{r['rows']:,} rows: Arrow IPC batches -> PostgreSQL "
                f"{r['load_s']:.1f} s, metrics and tasks {r['insights_s']:.1f} s ({r['insights_note']}); "
                "goal at 1M events: < 60 s",
            ),
            Measurement(
                f"replay.load_{k}_events_per_s",
                round(r["events"] / r["load_s"]),
                "events/s",
                note="the seven tables and data_availability in one transaction, then ANALYZE",
            ),
            compare(
                f"replay.peak_rss_{k}_events_mb",
                r["rss_peak_mb"],
                "MB",
                "RSS after imports, same process",
                r["rss_before_mb"],
                note=f"after the load {r['rss_after_load_mb']:.0f} MB; goal: < 1 GB, flat as the day grows",
            ),
        ]
    server = postgres_server()
    for m in out:
        m.server = server
    return out
