"""Create the databases and apply the Alembic migrations in `migrations/`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL

from ga_intel import settings
from ga_intel.errors import GaIntelError

if TYPE_CHECKING:
    from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def ensure_database(
    url: URL,
    what: str = "the platform database",
    fix: str = "GA_INTEL_DATABASE_URL, or unset it to use the embedded server",
) -> bool:
    """Create `url.database` on its server if missing; returns whether it was created."""
    probe = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with probe.connect():
            return False  # there, and this login may use it (it need not reach the `postgres` database)
    except sa.exc.OperationalError:
        pass  # missing, or the server is down: the admin connection below says which
    finally:
        probe.dispose()
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database}).scalar()
            if exists:
                return False
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
            return True
    except sa.exc.OperationalError as exc:
        raise GaIntelError(
            f"cannot reach PostgreSQL for {what} at {url.host}:{url.port}: {_first_line(exc)}",
            hint=f"check {fix}",
        ) from None
    except sa.exc.ProgrammingError as exc:
        raise GaIntelError(
            f"{what}: database {url.database!r} does not exist and cannot be created: {_first_line(exc)}",
            hint=f"create it yourself, or grant CREATEDB to the login in {fix}",
        ) from None
    finally:
        admin.dispose()


def upgrade(revision: str = "head") -> str:
    """Bring the platform database to `revision`; creates both databases if needed."""
    urls = settings.database_urls()
    ensure_database(urls.platform)
    ensure_database(urls.dagster)
    from ga_intel.db.engine import owner_engine

    with owner_engine().begin() as conn:
        after = _run_migrations(conn, revision)
        _set_runtime_password(conn, urls.runtime)
        return after


def _set_runtime_password(conn, runtime: URL) -> None:
    """Give the runtime login (migration 0013) the password its URL carries, if any, so
    GA_INTEL_RUNTIME_DATABASE_URL is the one place the operator names it."""
    from ga_intel.db.engine import RUNTIME_ROLE

    if not runtime.password or runtime.username != RUNTIME_ROLE:
        return
    exists = conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": RUNTIME_ROLE}).scalar()
    if exists:
        _set_password(conn, RUNTIME_ROLE, runtime.password)


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of `password` (RFC 5802/7677, as libpq's
    PQencryptPasswordConn makes it). `ALTER ROLE ... PASSWORD '<verifier>'` stores it as
    given, so the password itself never reaches the server: not its statement log, not an
    error that quotes the statement."""
    import base64
    import hashlib
    import hmac
    import os

    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _set_password(conn, role: str, password: str | None) -> None:
    if not password:
        return
    # A utility statement takes no bind parameters: quote the literal on the server.
    literal = conn.execute(sa.text("SELECT quote_literal(:p)"), {"p": scram_verifier(password)}).scalar()
    conn.exec_driver_sql(f"ALTER ROLE {role} PASSWORD {literal}")  # not sa.text: the verifier holds colons


def _run_migrations(conn, revision: str) -> str:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade_location(loc, revision: str = "head") -> tuple[str | None, str]:
    """Migrate one tenant database (ga_intel.db.placement.Location) as the tenant file's
    login, and give `ga_intel_tenant_runtime` its password there. Creates the database
    when the login may. Returns (revision before, revision after)."""
    from ga_intel.connectors import targets
    from ga_intel.db import placement
    from ga_intel.errors import ServiceError

    try:  # the tenant file names the host: it goes through the network guard like every tenant connection
        targets.check_host("postgres", loc.owner_url.host, loc.owner_url.port)
    except ServiceError as exc:
        raise GaIntelError(f"tenant database {loc.label}: {exc.message}", hint=exc.hint) from None
    ensure_database(loc.owner_url, what=f"tenant database {loc.label}", fix="the tenant file's postgres section")
    eng = sa.create_engine(loc.owner_url, poolclass=sa.pool.NullPool)
    try:
        with eng.begin() as conn:
            before = placement.revision_of(conn)
            after = _run_migrations(conn, revision)
            _set_password(conn, placement.TENANT_RUNTIME_ROLE, loc.runtime_url.password)
    except sa.exc.OperationalError as exc:
        raise GaIntelError(
            f"cannot migrate tenant database {loc.label} as {loc.owner_url.username}: {_first_line(exc)}",
            hint="check the server and the tenant file's postgres section (host, port, username, password, sslmode)",
        ) from None
    except sa.exc.DBAPIError as exc:  # _first_line: never SQLAlchemy's "[SQL: ...]" with its parameters
        raise GaIntelError(
            f"cannot migrate tenant database {loc.label} as {loc.owner_url.username}: {_first_line(exc)}",
            hint="the login needs to own the database and to create roles (CREATEROLE), as the platform's owner does, "
            "and all tenant databases on one server need the same login; nothing of this migration step was kept",
        ) from None
    finally:
        eng.dispose()
    placement.forget()  # engines verified against the old revision
    return before, after


def tenant_locations() -> list[tuple[list[str], object]]:
    """Every tenant database in use, with the tenants it holds (the platform not included)."""
    from ga_intel.db import placement
    from ga_intel.db.engine import control

    with control() as conn:
        tenants = conn.execute(
            sa.text("SELECT DISTINCT tenant_id FROM control.tenant_settings WHERE section = 'postgres' ORDER BY 1")
        ).scalars()
        tenants = list(tenants)
    by_label: dict[str, tuple[list[str], object]] = {}
    for tenant_id in tenants:
        loc = placement.location(tenant_id)
        by_label.setdefault(loc.label, ([], loc))[0].append(tenant_id)
    return list(by_label.values())


def upgrade_tenant_databases(progress=lambda message: None, revision: str = "head") -> list[tuple[str, str]]:
    """Migrate every tenant database, one at a time; returns (label, revision) per database
    migrated. A database that fails is reported and the others are still migrated (one
    tenant's server down, or its login refused, must not hold the rest back); then the
    run raises, naming each failure."""
    locations = tenant_locations()
    done, failed = [], []
    for i, (tenants, loc) in enumerate(locations, 1):
        progress(f"[{i}/{len(locations)}] tenant database {loc.label} ({', '.join(tenants)}) ...")
        try:
            before, after = upgrade_location(loc, revision)
        except GaIntelError as exc:
            progress(f"[{i}/{len(locations)}] tenant database {loc.label}: FAILED: {exc.message}")
            failed.append(f"{loc.label} ({', '.join(tenants)}): {exc.message}")
            continue
        progress(f"[{i}/{len(locations)}] tenant database {loc.label}: {before or '(empty)'} -> {after}")
        done.append((loc.label, after))
    if failed:
        raise GaIntelError(
            f"{len(failed)} of {len(locations)} tenant database(s) could not be migrated: " + "; ".join(failed),
            hint="the others are migrated; fix these (server, or the tenant file's postgres login) and run "
            "`ga-intel db upgrade` again: until then those tenants' data is refused as behind",
        )
    return done


def _first_line(exc: Exception) -> str:
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    return text[0] if text else type(exc).__name__


def head() -> str:
    return _script().get_current_head()


def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


def current_revision() -> str | None:
    from ga_intel.db.engine import owner_engine

    with owner_engine().connect() as conn:
        has_table = conn.execute(sa.text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar()
        if not has_table:
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def ensure_current() -> None:
    """Make sure the schema is at head before a command uses it.

    The embedded server is ours, so it is upgraded on the spot. A server named by
    GA_INTEL_DATABASE_URL is the operator's: we say what to run instead of migrating it
    behind their back.
    """
    head = _script().get_current_head()
    urls = settings.database_urls()
    if urls.embedded:
        ensure_database(urls.platform)
    try:
        current = current_revision()
    except sa.exc.OperationalError as exc:
        raise GaIntelError(
            f"cannot reach the platform database {urls.platform.render_as_string(hide_password=True)}: {exc.orig}".strip(),
            hint="check GA_INTEL_DATABASE_URL, or unset it to use the embedded server",
        ) from None
    if current == head:
        return
    if urls.embedded:
        upgrade()
        return
    raise GaIntelError(
        f"the platform database is at schema revision {current or '(none)'}, this ga-intel needs {head}",
        hint="run `ga-intel db upgrade`",
    )
