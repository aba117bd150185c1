"""Where each tenant's data lives (issue 19), and the one way in to it.

The control plane (tenants, settings, members, the key check, API tokens, move journal)
is always in the platform database. A tenant's data (the `tenant_data` schema: GA4
tables, metrics, tasks, roll-ups, email ledger, webhooks) is in the platform database
too, unless its tenant file has a `postgres` section: then it is in that database, which
runs the same migrations and the same row-level security.

`tenant_scope` (ga_intel.db) is the only way to tenant data, and it asks `begin` here,
so every reader and writer (Dagster assets, email, dashboard, API, bench) follows the
tenant wherever it is; there is no fallback to the platform database for a tenant that
has its own. On a tenant database ga-intel logs in as `ga_intel_tenant_runtime`
(migration 0015), never as the tenant file's login, which owns the tables there and
is used only by `ga-intel db upgrade` and `ga-intel tenant move`.

Each transaction:
1. takes, on the tenant's database, a shared advisory lock on the tenant
   (`tenant move` takes it exclusively to wait out writers that began before it);
2. reads the tenant's placement from the control plane *after* the lock, so a move
   that began meanwhile is seen, and refuses with `TenantMoving`;
3. switches to the RLS-bound role with the tenant's id set.
A cached placement that no longer matches the control plane is dropped and the
transaction opened again where the tenant now is.
"""

from __future__ import annotations

import secrets as pysecrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from ga_intel.db.engine import _engine_for, control, enter_tenant, verify_runtime_login
from ga_intel.db.engine import engine as runtime_engine  # `engine` would read as the module
from ga_intel.errors import GaIntelError

TENANT_RUNTIME_ROLE = "ga_intel_tenant_runtime"
RUNTIME_SECRET = "tenant_runtime_password"


class TenantDatabaseError(GaIntelError):
    """A tenant's own database cannot be used: unreachable, behind, or unsafe."""


class TenantMoving(GaIntelError):
    pass


# What a loop over tenants catches to skip one tenant whose data cannot be reached now
# (its own database down, behind, or mid-move) and go on with the others.
UNAVAILABLE = (TenantDatabaseError, TenantMoving)


@dataclass(frozen=True)
class Location:
    """A database that holds tenant data. Never carries a secret in `label`."""

    label: str
    owner_url: URL | None = None  # the tenant file's login (migrations, moves); None: the platform
    runtime_url: URL | None = None  # what readers and writers log in as

    @property
    def is_platform(self) -> bool:
        return self.owner_url is None


PLATFORM = Location("the platform database")


def location_from_section(pg) -> Location:
    """The location a tenant file's `postgres` section names (None: the platform)."""
    if pg is None:
        return PLATFORM
    owner = owner_url(pg)
    runtime = owner.set(username=TENANT_RUNTIME_ROLE, password=runtime_password(server_key(pg.host, pg.port)))
    return Location(f"{pg.host}:{pg.port}/{pg.database}", owner, runtime)


def owner_url(pg) -> URL:
    """The tenant file's login to its database: migrations and moves only."""
    return URL.create(
        "postgresql+psycopg2",
        username=pg.username,
        password=pg.password.get_secret_value() if pg.password else None,
        host=pg.host,
        port=pg.port,
        database=pg.database,
        query={"sslmode": pg.sslmode, "connect_timeout": "10"},
    )


def server_key(host: str, port: int) -> str:
    return f"{host.strip().lower().rstrip('.')}:{port}"


def same_database(a: Location, b: Location) -> bool:
    return a.label == b.label


# --- the tenant-database login's password, one per server ---------------------------------

_secret_lock = threading.Lock()
_runtime_passwords: dict[str, str] = {}


def runtime_password(server: str) -> str:
    """`ga_intel_tenant_runtime`'s password on one server (`host:port`): created on first
    use, kept encrypted in the control plane (key rotation re-encrypts it; the password
    itself does not change). One per server, not one for the deployment: a tenant that
    runs its own server can learn the password ga-intel logs in with there (the server
    may ask for it in clear text), and that password opens no other server. Roles are
    cluster-wide, so every tenant database on one server shares it; name a server the
    same way (host and port) in every tenant file that uses it."""
    if server in _runtime_passwords:
        return _runtime_passwords[server]
    from ga_intel import crypto

    name = f"{RUNTIME_SECRET}:{server}"
    with _secret_lock, control() as conn:
        ring = crypto.keyring()
        conn.execute(
            sa.text("INSERT INTO control.platform_secrets (name, token) VALUES (:n, :t) ON CONFLICT DO NOTHING"),
            {"n": name, "t": ring.encrypt({"value": pysecrets.token_urlsafe(32)})},
        )
        token = conn.execute(
            sa.text("SELECT token FROM control.platform_secrets WHERE name = :n"), {"n": name}
        ).scalar()
        _runtime_passwords[server] = ring.decrypt(token, f"the tenant-database login's password for {server}")["value"]
    return _runtime_passwords[server]


# --- placement as the control plane holds it -------------------------------------------

_STATE_SQL = sa.text(
    """
    SELECT s.config::text AS config, s.secrets, m.state AS moving, m.started_at
    FROM (SELECT CAST(:tenant AS text) AS tenant_id) t
    LEFT JOIN control.tenant_settings s ON s.tenant_id = t.tenant_id AND s.section = 'postgres'
    LEFT JOIN control.tenant_moves m ON m.tenant_id = t.tenant_id
    """
)


@dataclass(frozen=True)
class _State:
    fingerprint: tuple[str | None, str | None]
    moving: str | None
    started_at: object = None


def _read_state(conn: Connection, tenant_id: str) -> _State:
    row = conn.execute(_STATE_SQL, {"tenant": tenant_id}).mappings().one()
    # Once switched, the rows are where the settings say: only the old copy's delete is
    # left, which nobody reads, so the tenant is usable again.
    moving = row["moving"] if row["moving"] == "copying" else None
    return _State((row["config"], row["secrets"]), moving, row["started_at"])


_cache: dict[str, tuple[tuple, Location]] = {}


def _location_for(tenant_id: str, state: _State) -> Location:
    cached = _cache.get(tenant_id)
    if cached and cached[0] == state.fingerprint:
        return cached[1]
    config, token = state.fingerprint
    if config is None:
        loc = PLATFORM
    else:
        import json

        from ga_intel import crypto
        from ga_intel.tenancy.tenant_file import PostgresSettings

        values = json.loads(config)
        if token:
            values.update(crypto.keyring().decrypt(token, f"tenant {tenant_id!r} postgres secrets"))
        loc = location_from_section(PostgresSettings.model_validate(values))
    _cache[tenant_id] = (state.fingerprint, loc)
    return loc


def location(tenant_id: str) -> Location:
    """Where `tenant_id`'s data is now (the platform for an unknown tenant)."""
    with control() as conn:
        return _location_for(tenant_id, _read_state(conn, tenant_id))


def forget() -> None:
    """Drop cached placements and verified engines (tests; after a move in this process)."""
    _cache.clear()
    _VERIFIED.clear()
    _runtime_passwords.clear()


# --- engines for tenant databases --------------------------------------------------------

_VERIFIED: set[str] = set()


@lru_cache(maxsize=1)
def head_revision() -> str:
    from ga_intel.db.migrate import head

    return head()


def revision_of(conn: Connection) -> str | None:
    if not conn.execute(sa.text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar():
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _connect_error(tenant_id: str, loc: Location, exc: Exception) -> TenantDatabaseError:
    detail = str(getattr(exc, "orig", exc)).strip().splitlines()
    return TenantDatabaseError(
        f"cannot reach tenant {tenant_id!r}'s database {loc.label} as {TENANT_RUNTIME_ROLE}: "
        f"{detail[0] if detail else type(exc).__name__}",
        hint="check the server and the tenant file's postgres section, then run `ga-intel db upgrade` "
        f"(it creates {TENANT_RUNTIME_ROLE} there and sets its password)",
    )


def engine_for(tenant_id: str, loc: Location) -> Engine:
    """The runtime engine for `loc`, checked once per process: reachable address, schema
    at head, and a login row-level security binds."""
    if loc.is_platform:
        return runtime_engine()
    key = loc.runtime_url.render_as_string(hide_password=False)
    eng = _engine_for(key, pool_size=2)  # many tenant databases per process: small pools
    if key in _VERIFIED:
        return eng
    from ga_intel.connectors import targets
    from ga_intel.errors import ServiceError

    try:
        targets.check_host("postgres", loc.runtime_url.host, loc.runtime_url.port)
    except ServiceError as exc:
        raise TenantDatabaseError(
            f"tenant {tenant_id!r}'s database {loc.label}: {exc.message}", hint=exc.hint
        ) from None
    try:
        with eng.connect() as conn:
            try:
                current = revision_of(conn)
            except sa.exc.ProgrammingError:
                conn.rollback()
                current = "older than 0015"  # the revision this login was first allowed to read it
            verify_runtime_login(conn)
    except sa.exc.OperationalError as exc:
        raise _connect_error(tenant_id, loc, exc) from None
    head = head_revision()
    if current != head:
        raise TenantDatabaseError(
            f"tenant {tenant_id!r}'s database {loc.label} is at schema revision {current or '(none)'}, "
            f"this ga-intel needs {head}: nothing was read or written there",
            hint="run `ga-intel db upgrade` (it migrates the platform database and every tenant database)",
        )
    _VERIFIED.add(key)
    return eng


def _lock_key(tenant_id: str) -> str:
    return f"ga-intel:tenant-data:{tenant_id}"


def lock_shared(conn: Connection, tenant_id: str) -> None:
    conn.execute(sa.text("SELECT pg_advisory_xact_lock_shared(hashtextextended(:k, 0))"), {"k": _lock_key(tenant_id)})


def wait_out_writers(conn: Connection, tenant_id: str) -> None:
    """On the tenant's database: wait until every transaction that began before now has
    ended (they hold the lock shared), then let go at once."""
    conn.execute(sa.text("SELECT pg_advisory_lock(hashtextextended(:k, 0))"), {"k": _lock_key(tenant_id)})
    conn.execute(sa.text("SELECT pg_advisory_unlock(hashtextextended(:k, 0))"), {"k": _lock_key(tenant_id)})


def _moving_error(tenant_id: str, state: _State) -> TenantMoving:
    return TenantMoving(
        f"tenant {tenant_id!r} is being moved to another database (started {state.started_at:%Y-%m-%d %H:%M} UTC): "
        "its data can be neither read nor written until the move finishes",
        hint=f"finish it with `ga-intel tenant move {tenant_id} --resume` (it continues where it stopped)",
    )


def _connect(eng: Engine, tenant_id: str, loc: Location) -> Connection:
    try:
        return eng.connect()
    except sa.exc.OperationalError as exc:
        if loc.is_platform:
            raise
        raise _connect_error(tenant_id, loc, exc) from None


@contextmanager
def begin(tenant_id: str) -> Iterator[Connection]:
    """A transaction on the tenant's database that can only see and write its rows."""
    for _attempt in range(3):
        cached = _cache.get(tenant_id)
        loc = cached[1] if cached else location(tenant_id)
        try:
            conn_cm = _connect(engine_for(tenant_id, loc), tenant_id, loc)
        except TenantDatabaseError:
            if not cached:
                raise
            # The cached place is gone (another process moved the tenant and the old
            # database was dropped): ask the control plane where it is now.
            _cache.pop(tenant_id, None)
            continue
        with conn_cm as conn, conn.begin():
            lock_shared(conn, tenant_id)
            if loc.is_platform:
                state = _read_state(conn, tenant_id)  # the runtime login reads the control plane itself
            else:
                with control() as ctl:
                    state = _read_state(ctl, tenant_id)
            if state.moving:
                raise _moving_error(tenant_id, state)
            if _location_for(tenant_id, state) == loc:
                enter_tenant(conn, tenant_id)
                yield conn
                return
        # The tenant moved since we cached it: nothing was done here; open it where it is now.
    raise GaIntelError(f"tenant {tenant_id!r}'s database placement kept changing while opening it; try again")


def status(tenant_id: str) -> tuple[bool, str, str | None]:
    """(ok, what, fix) about where a tenant's data is: `ga-intel health --tenants`."""
    with control() as conn:
        state = _read_state(conn, tenant_id)
    try:
        loc = _location_for(tenant_id, state)
    except GaIntelError as exc:
        return False, exc.message, exc.hint
    if state.moving:
        err = _moving_error(tenant_id, state)
        return False, err.message, err.hint
    if loc.is_platform:
        return True, "in the platform database", None
    try:
        engine_for(tenant_id, loc)
    except GaIntelError as exc:
        return False, exc.message, exc.hint
    return True, f"in its own database {loc.label}, schema at {head_revision()}", None


@contextmanager
def begin_at(loc: Location, tenant_id: str) -> Iterator[Connection]:
    """A transaction bound to `tenant_id` at a given location, whatever the control plane
    says: for `ga-intel tenant move` only, which holds the tenant while it copies."""
    with _connect(engine_for(tenant_id, loc), tenant_id, loc) as conn, conn.begin():
        enter_tenant(conn, tenant_id)
        yield conn
