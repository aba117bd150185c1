"""Advisory locks: transaction-level ones that serialize the replace of one partition, and
a session-level one for commands that must run alone (`session_lock`).

The partition locks:

A partition (a tenant's day of GA4 tables, or of metrics) is replaced by DELETE then
COPY/INSERT in one transaction. Under READ COMMITTED two such transactions for the same
partition do not see each other's new rows, so both copies survive: a doubled day.
Whoever replaces a partition first takes its lock; the second waits until the first
commits, then deletes what the first wrote. The lock ends with the transaction (commit,
rollback or a dead connection), so it can never be left behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.errors import GaIntelError


def partition_lock_key(kind: str, tenant_id: str, day: dt.date | None = None) -> str:
    """The lock's name: what is replaced (`ga4`, `insights`), for whom, and for which day
    (None: the tenant as a whole). PostgreSQL hashes it to the lock's 64-bit key; a
    collision only makes two unrelated partitions wait for each other."""
    return f"ga-intel:{kind}:{tenant_id}:{day.isoformat() if day else '*'}"


def lock_partition(conn: Connection, kind: str, tenant_id: str, day: dt.date | None = None) -> None:
    """Wait for, then hold until this transaction ends, the lock on one partition."""
    conn.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": partition_lock_key(kind, tenant_id, day)},
    )


@contextmanager
def session_lock(key: str, busy: GaIntelError) -> Iterator[None]:
    """Hold the advisory lock `key` on its own platform connection for the whole block
    (released by PostgreSQL if the process dies); raise `busy` at once if another
    session holds it."""
    from ga_intel.db.engine import engine

    conn = engine().connect()
    try:
        got = conn.execute(sa.text("SELECT pg_try_advisory_lock(hashtextextended(:k, 0))"), {"k": key}).scalar()
        conn.commit()
        if not got:
            raise busy
        try:
            yield
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": key})
            conn.commit()
    finally:
        conn.close()
