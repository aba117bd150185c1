"""A valid sample row for any tenant table, built from the catalog (so a table added later
is covered without editing a test), and a plain INSERT of it."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
import sqlalchemy as sa

from ga_intel.db.rls import TENANT_SCHEMA

# Columns whose CHECK constraints a generic sample value would break: (table, column) -> value.
SAMPLE_OVERRIDES: dict[tuple[str, str], object] = {
    ("purchases", "id_status"): "ok",
    ("data_availability", "status"): "complete",
    ("master_data_files", "kind"): "users",
    ("tasks", "task_type"): "purchase_followup",
    ("tasks", "priority"): 1,
    ("email_deliveries", "report_kind"): "branch",
    ("pipeline_alerts", "status"): "sent",
    ("search_terms_rollup", "grain"): "m",
    ("unsessioned_events", "reason"): "no_pseudo_id",
    ("webhook_endpoints", "events"): ["task.created"],
    ("webhook_deliveries", "event_id"): "00000000-0000-4000-8000-000000000001",
    ("webhook_deliveries", "event_type"): "task.created",
}

_BY_TYPE = {
    "text": "x",
    "character varying": "x",
    "boolean": True,
    "integer": 1,
    "bigint": 1,
    "smallint": 1,
    "numeric": decimal.Decimal("1.5"),
    "double precision": 1.5,
    "real": 1.5,
    "date": dt.date(2024, 1, 1),
    "timestamp with time zone": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    "timestamp without time zone": dt.datetime(2024, 1, 1),
    "jsonb": "{}",
    "json": "{}",
    "uuid": None,
}


def sample_row(conn, table: str, tenant_id: str) -> dict:
    cols = conn.execute(
        sa.text(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position"
        ),
        {"s": TENANT_SCHEMA, "t": table},
    ).all()
    row = {}
    for name, data_type, nullable, default in cols:
        if name == "tenant_id":
            row[name] = tenant_id
        elif (table, name) in SAMPLE_OVERRIDES:
            row[name] = SAMPLE_OVERRIDES[(table, name)]
        elif nullable == "NO" and default is None:
            if data_type not in _BY_TYPE or _BY_TYPE[data_type] is None:
                pytest.fail(f"{table}.{name} has type {data_type}: add a sample value to SAMPLE_OVERRIDES")
            row[name] = _BY_TYPE[data_type]
    return row


def insert(conn, table: str, row: dict) -> None:
    cols = ", ".join(f'"{c}"' for c in row)
    vals = ", ".join(f"CAST(:{c} AS jsonb)" if isinstance(v, str) and v == "{}" else f":{c}" for c, v in row.items())
    conn.execute(sa.text(f'INSERT INTO {TENANT_SCHEMA}."{table}" ({cols}) VALUES ({vals})'), row)
