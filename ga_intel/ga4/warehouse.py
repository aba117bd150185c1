"""Replace one tenant × day of the GA4 tables in PostgreSQL, atomically.

Delete and COPY happen in one transaction under the tenant's row-level security, so a
re-run gives identical tables and a failed run leaves the previous day in place. Rows
arrive as Arrow record batches and go to COPY as CSV written by Arrow's C++ writer,
batch by batch, never as one DataFrame (and never through `DataFrame.to_sql`).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa
from sqlalchemy.engine import Connection

SCHEMA = "tenant_data"


def _with_keys(batch: pa.RecordBatch, tenant_id: str, day: dt.date) -> pa.RecordBatch:
    n = batch.num_rows
    return pa.RecordBatch.from_arrays(
        [pa.repeat(pa.scalar(tenant_id, pa.string()), n), pa.repeat(pa.scalar(day, pa.date32()), n), *batch.columns],
        names=["tenant_id", "event_date", *batch.schema.names],
    )


def _csv(batch: pa.RecordBatch) -> io.BytesIO:
    buf = io.BytesIO()
    # all_valid quotes every non-null value, so an empty string stays '' and only a
    # real null arrives as NULL.
    pacsv.write_csv(batch, buf, write_options=pacsv.WriteOptions(include_header=False, quoting_style="all_valid"))
    buf.seek(0)
    return buf


def copy_batches(conn: Connection, table: str, batches: Iterable[pa.RecordBatch], tenant_id: str, day: dt.date) -> int:
    """Load batches into tenant_data.<table> (through `db.bulk`'s staging table); returns
    rows written. The next batch's CSV is written (by Arrow, outside the GIL) while the
    current one streams to the server."""
    from concurrent.futures import ThreadPoolExecutor

    from ga_intel.db.bulk import copy_via_stage

    keyed = (_with_keys(b, tenant_id, day) for b in batches if b.num_rows)
    first = next(keyed, None)
    if first is None:
        return 0
    written = 0

    def chunks():
        nonlocal written
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending, rows = pool.submit(_csv, first), first.num_rows
            for batch in keyed:
                upcoming = pool.submit(_csv, batch)
                yield pending.result()
                written += rows
                pending, rows = upcoming, batch.num_rows
            yield pending.result()
            written += rows

    copy_via_stage(conn, table, first.schema.names, chunks())
    return written


def delete_day(conn: Connection, tables: Iterable[str], tenant_id: str, day: dt.date) -> None:
    for table in tables:
        conn.execute(
            sa.text(f"DELETE FROM {SCHEMA}.{table} WHERE tenant_id = :tenant AND event_date = :d"),
            {"tenant": tenant_id, "d": day},
        )


def record_availability(
    conn: Connection,
    tenant_id: str,
    day: dt.date,
    *,
    source_table: str,
    status: str,
    bq_modified_at=None,
    bq_row_count=None,
    rows_written=None,
    run_id=None,
    message=None,
    quality=None,
) -> None:
    conn.execute(
        sa.text(
            f"""
            INSERT INTO {SCHEMA}.data_availability
              (tenant_id, event_date, source_table, status, bq_modified_at, bq_row_count, rows_written, run_id,
               message, quality, updated_at)
            VALUES (:tenant, :d, :src, :status, :mod, :cnt, CAST(:rows AS jsonb), :run, :msg, CAST(:quality AS jsonb), now())
            ON CONFLICT (tenant_id, event_date) DO UPDATE SET
              source_table = EXCLUDED.source_table, status = EXCLUDED.status,
              bq_modified_at = EXCLUDED.bq_modified_at, bq_row_count = EXCLUDED.bq_row_count,
              rows_written = EXCLUDED.rows_written, run_id = EXCLUDED.run_id, message = EXCLUDED.message,
              quality = EXCLUDED.quality, updated_at = now()
            """
        ),
        {
            "tenant": tenant_id,
            "d": day,
            "src": source_table,
            "status": status,
            "mod": bq_modified_at,
            "cnt": bq_row_count,
            "rows": json.dumps(rows_written or {}),
            "run": run_id,
            "msg": message,
            "quality": json.dumps(quality or {}),
        },
    )


def mark_failed(
    conn: Connection, tenant_id: str, day: dt.date, source_table: str, run_id: str | None, message: str
) -> None:
    """Record a failed load without touching the day's data (or its last good status
    figures, other than the status itself)."""
    conn.execute(
        sa.text(
            f"""
            INSERT INTO {SCHEMA}.data_availability (tenant_id, event_date, source_table, status, run_id, message)
            VALUES (:tenant, :d, :src, 'failed', :run, :msg)
            ON CONFLICT (tenant_id, event_date) DO UPDATE SET
              status = 'failed', run_id = EXCLUDED.run_id, message = EXCLUDED.message, updated_at = now()
            """
        ),
        {"tenant": tenant_id, "d": day, "src": source_table, "run": run_id, "msg": message[:2000]},
    )
