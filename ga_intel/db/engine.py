"""Engines and transactions.

Two ways in, both transactional, both as the runtime login `ga_intel_runtime`:
- `control()`: the control plane (tenants, settings, members), granted to the runtime login.
- `tenant_scope(tenant_id)`: every read or write of tenant data, on the database that
  holds the tenant's data (`placement`: the platform's or its own). It switches to the
  non-owner role `ga_intel_app` and sets `app.tenant_id` for this transaction only
  (`SET LOCAL`), so row-level security decides what the statements can see and write,
  whatever the SQL says. A pooled connection never carries a tenant into the next use.

The runtime login is NOSUPERUSER, NOBYPASSRLS, owns nothing and holds no privilege on
tenant data itself (NOINHERIT): a `RESET ROLE` inside `tenant_scope` leaves a session that
can read no tenant's rows (issue 15, finding 5). Its engine refuses to start when the
login could bypass row-level security (`verify_runtime_login`). Only migrations, and
tests that set up or tear down, use `owner_engine()`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ga_intel import settings
from ga_intel.errors import GaIntelError

APP_ROLE = "ga_intel_app"
RUNTIME_ROLE = "ga_intel_runtime"
TENANT_SETTING = "app.tenant_id"


# One engine (and pool) per URL for the life of the process, never evicted: an evicted
# engine would keep its pooled connections open while a new one opened more, on every
# pass over more tenant databases than the cache held.
_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _engine_for(url: str, pool_size: int = 5) -> Engine:
    eng = _ENGINES.get(url)
    if eng is None:
        with _ENGINES_LOCK:
            eng = _ENGINES.get(url)
            if eng is None:
                eng = sa.create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=5)
                _ENGINES[url] = eng
    return eng


# Embedded servers seen running: `pg_ctl status` is a subprocess, far too slow to ask on
# every transaction. A server that stops later fails the next connect with its own error.
_SEEN_RUNNING: set[str] = set()


def _ensure_embedded_running(urls: settings.DatabaseUrls, key: str) -> None:
    if urls.embedded and key not in _SEEN_RUNNING:
        from ga_intel.db import embedded

        if not embedded.is_running():
            raise GaIntelError(
                "the embedded PostgreSQL is not running",
                hint="start it with `make services_start` (or `ga-intel db start`), "
                "or set GA_INTEL_DATABASE_URL to your server",
            )
        _SEEN_RUNNING.add(key)


# Runtime URLs whose login passed `verify_runtime_login` in this process.
_VERIFIED: set[str] = set()


def engine() -> Engine:
    """The runtime login's engine (dashboard, pipeline runs, CLI commands)."""
    urls = settings.database_urls()
    key = urls.runtime.render_as_string(hide_password=False)
    _ensure_embedded_running(urls, key)
    eng = _engine_for(key)
    if key not in _VERIFIED:
        with eng.connect() as conn:
            verify_runtime_login(conn)
        _VERIFIED.add(key)
    return eng


def owner_engine() -> Engine:
    """The owner's engine: migrations only (and tests that set up or tear down)."""
    urls = settings.database_urls()
    key = urls.platform.render_as_string(hide_password=False)
    _ensure_embedded_running(urls, key)
    return _engine_for(key)


class UnsafeRuntimeLogin(GaIntelError):
    pass


def verify_runtime_login(conn: Connection) -> None:
    """Refuse a runtime login that row-level security would not bind (finding 5): a
    superuser, a BYPASSRLS role, the owner of a platform table, a member of any role but
    `ga_intel_app`, or one that holds privileges on tenant data without `SET ROLE`."""
    me = (
        conn.execute(
            sa.text(
                "SELECT current_user AS name, rolsuper, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = current_user"
            )
        )
        .mappings()
        .one()
    )
    problems = []
    if me["rolsuper"]:
        problems.append("is a superuser")
    if me["rolbypassrls"]:
        problems.append("has BYPASSRLS")
    owned = conn.execute(
        sa.text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname IN ('control', 'tenant_data', 'public') AND pg_has_role(current_user, c.relowner, 'MEMBER')"
        )
    ).scalar()
    if owned:
        problems.append(f"owns (or can become the owner of) {owned} platform table(s)")
    others = conn.execute(
        sa.text(
            "SELECT string_agg(rolname, ', ' ORDER BY rolname) FROM pg_roles "
            "WHERE pg_has_role(current_user, oid, 'MEMBER') AND rolname NOT IN (current_user, :app)"
        ),
        {"app": APP_ROLE},
    ).scalar()
    if others:
        problems.append(f"is a member of {others}")
    if me["rolinherit"]:
        problems.append(f"has INHERIT (it would use {APP_ROLE}'s privileges without SET ROLE)")
    if problems:
        raise UnsafeRuntimeLogin(
            f"the runtime database login {me['name']!r} "
            + "; ".join(problems)
            + ": row-level security would not bind it, so ga-intel refuses to start",
            hint=f"point {settings.RUNTIME_DATABASE_URL} at the `{RUNTIME_ROLE}` login that `ga-intel db upgrade` "
            "creates (NOSUPERUSER NOBYPASSRLS NOINHERIT, member of ga_intel_app only), never at the owner; "
            "see docs/SECURITY.md, section 5",
        )


@contextmanager
def control() -> Iterator[Connection]:
    with engine().begin() as conn:
        yield conn


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[Connection]:
    """A transaction that can only see and write `tenant_id`'s rows, on the database that
    holds them (the platform's, or the tenant's own: ga_intel.db.placement)."""
    if not tenant_id:
        raise ValueError("tenant_scope needs a tenant id")
    from ga_intel.db import placement

    with placement.begin(tenant_id) as conn:
        yield conn


def enter_tenant(conn: Connection, tenant_id: str) -> None:
    conn.execute(sa.text(f"SET LOCAL ROLE {APP_ROLE}"))
    conn.execute(sa.text("SELECT set_config(:k, :v, true)"), {"k": TENANT_SETTING, "v": tenant_id})


def dispose_all() -> None:
    """Close pooled connections (before stopping a server they point at)."""
    with _ENGINES_LOCK:
        while _ENGINES:
            _ENGINES.popitem()[1].dispose()
    _SEEN_RUNNING.clear()
    _VERIFIED.clear()
    from ga_intel.db import placement

    placement.forget()
