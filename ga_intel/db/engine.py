"""Engines and transactions.

Two ways in, both transactional:
- `control()`: the platform owner, for the control plane (tenants, settings, members).
- `tenant_scope(tenant_id)`: every read or write of tenant data. It switches to the
  non-owner role `ga_intel_app` and sets `app.tenant_id` for this transaction only
  (`SET LOCAL`), so row-level security decides what the statements can see and write,
  whatever the SQL says. A pooled connection never carries a tenant into the next use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ga_intel import settings
from ga_intel.errors import GaIntelError

APP_ROLE = "ga_intel_app"
TENANT_SETTING = "app.tenant_id"


_ENGINES: list[Engine] = []


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    eng = sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    _ENGINES.append(eng)
    return eng


# Embedded servers seen running: `pg_ctl status` is a subprocess, far too slow to ask on
# every transaction. A server that stops later fails the next connect with its own error.
_SEEN_RUNNING: set[str] = set()


def engine() -> Engine:
    urls = settings.database_urls()
    key = urls.platform.render_as_string(hide_password=False)
    if urls.embedded and key not in _SEEN_RUNNING:
        from ga_intel.db import embedded

        if not embedded.is_running():
            raise GaIntelError(
                "the embedded PostgreSQL is not running",
                hint="start it with `make services_start` (or `ga-intel db start`), "
                "or set GA_INTEL_DATABASE_URL to your server",
            )
        _SEEN_RUNNING.add(key)
    return _engine_for(key)


@contextmanager
def control() -> Iterator[Connection]:
    with engine().begin() as conn:
        yield conn


@contextmanager
def tenant_scope(tenant_id: str, conn: Connection | None = None) -> Iterator[Connection]:
    """A transaction that can only see and write `tenant_id`'s rows."""
    if not tenant_id:
        raise ValueError("tenant_scope needs a tenant id")
    if conn is not None:
        enter_tenant(conn, tenant_id)
        yield conn
        return
    with engine().begin() as conn:
        enter_tenant(conn, tenant_id)
        yield conn


def enter_tenant(conn: Connection, tenant_id: str) -> None:
    conn.execute(sa.text(f"SET LOCAL ROLE {APP_ROLE}"))
    conn.execute(sa.text("SELECT set_config(:k, :v, true)"), {"k": TENANT_SETTING, "v": tenant_id})


def dispose_all() -> None:
    """Close pooled connections (before stopping a server they point at)."""
    while _ENGINES:
        _ENGINES.pop().dispose()
    _engine_for.cache_clear()
    _SEEN_RUNNING.clear()
