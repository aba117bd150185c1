"""`ga-intel health`: is every part of the product up, and if not, what to do.

Each check returns a `Component` (name, ok, detail, fix) and never raises. The checks
read and never start or change anything: the embedded PostgreSQL is not started, the
schema is not migrated (`needs_database` would do both; health must report instead).

Components, in dependency order:
- `platform-db`     the platform PostgreSQL answers, and its schema is at the head revision;
- `dagster-storage` the Dagster instance database answers (runs, queue depth);
- `dagster-webserver`  GET /server_info on the Dagster UI port;
- `dagster-daemon`  every daemon the instance needs has a fresh heartbeat;
- `streamlit`       GET /_stcore/health on the dashboard port;
- `tenant <id>: data` with `--tenants`: where its data is; a tenant database behind the
  migrations, unreachable or mid-move is reported with the fix.
- `tenant <id>: <service>` with `--tenants`: each tenant's connectors (as `tenant check`).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass

HTTP_TIMEOUT = 3.0
# The daemon writes a heartbeat every 30 s; Dagster's own UI calls it unhealthy after 60 s.
HEARTBEAT_TOLERANCE_SECONDS = 90


@dataclass
class Component:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    seconds: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def _timed(name: str, fn: Callable[[], Component]) -> Component:
    start = time.perf_counter()
    try:
        result = fn()
    except Exception as exc:  # a check reports; it never crashes the command
        from ga_intel.logs import redact

        result = Component(
            name,
            False,
            redact(f"{type(exc).__name__}: {str(exc)[:300]}"),
            "a bug in the health check itself; see the logs (make logs)",
        )
    result.seconds = round(time.perf_counter() - start, 3)
    return result


def _pg_error(exc: Exception) -> str:
    from ga_intel.logs import redact

    orig = getattr(exc, "orig", None) or exc
    return redact(str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__)


def check_platform_db() -> Component:
    import sqlalchemy as sa

    from ga_intel import settings
    from ga_intel.db import embedded, migrate

    urls = settings.database_urls()
    where = urls.platform.render_as_string(hide_password=True)
    if urls.embedded and not embedded.is_running():
        return Component(
            "platform-db",
            False,
            f"the embedded PostgreSQL ({where}) is not running",
            "start it: `make services_start` (or `make dev`); or set GA_INTEL_DATABASE_URL",
        )
    engine = sa.create_engine(urls.platform, connect_args={"connect_timeout": 3}, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            has_table = conn.execute(sa.text("SELECT to_regclass('public.alembic_version') IS NOT NULL")).scalar()
            current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() if has_table else None
            tenants = conn.execute(sa.text("SELECT count(*) FROM control.tenants")).scalar() if current else 0
    except sa.exc.SQLAlchemyError as exc:
        return Component(
            "platform-db",
            False,
            f"cannot connect to {where}: {_pg_error(exc)}",
            "check that PostgreSQL runs and GA_INTEL_DATABASE_URL (host, port, user, password)",
        )
    finally:
        engine.dispose()
    head = migrate._script().get_current_head()
    if current != head:
        return Component(
            "platform-db",
            False,
            f"{where} is at schema revision {current or '(none)'}, this ga-intel needs {head}",
            "run `ga-intel db upgrade` (make db_setup)",
        )
    # The login everything else uses must be one row-level security binds (finding 5).
    from ga_intel.db.engine import UnsafeRuntimeLogin, verify_runtime_login

    runtime = sa.create_engine(urls.runtime, connect_args={"connect_timeout": 3}, poolclass=sa.pool.NullPool)
    try:
        with runtime.connect() as conn:
            verify_runtime_login(conn)
    except UnsafeRuntimeLogin as exc:
        return Component("platform-db", False, exc.message, exc.hint)
    except sa.exc.SQLAlchemyError as exc:
        return Component(
            "platform-db",
            False,
            f"the runtime login cannot connect: {_pg_error(exc)}",
            "check GA_INTEL_RUNTIME_DATABASE_URL, then run `ga-intel db upgrade` (it creates the login)",
        )
    finally:
        runtime.dispose()
    return Component(
        "platform-db",
        True,
        f"{where}: schema at {head}, {tenants} tenant(s), runtime login "
        f"{urls.runtime.username} bound by row-level security",
    )


def check_dagster_storage() -> Component:
    import sqlalchemy as sa

    from ga_intel import settings
    from ga_intel.db import embedded

    urls = settings.database_urls()
    url = urls.dagster
    where = url.render_as_string(hide_password=True)
    if urls.embedded and url.port == urls.platform.port and not embedded.is_running():
        return Component(
            "dagster-storage",
            False,
            f"the embedded PostgreSQL ({where}) is not running",
            "start it: `make services_start` (or `make dev`)",
        )
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3}, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if not conn.execute(sa.text("SELECT to_regclass('public.runs') IS NOT NULL")).scalar():
                return Component(
                    "dagster-storage", True, f"{where}: reachable; Dagster creates its tables on first start"
                )
            counts = dict(
                conn.execute(
                    sa.text(
                        "SELECT status, count(*) FROM runs WHERE status IN ('QUEUED', 'STARTED', 'STARTING') "
                        "GROUP BY status"
                    )
                ).all()
            )
            oldest = conn.execute(
                sa.text(
                    "SELECT EXTRACT(EPOCH FROM now() AT TIME ZONE 'UTC' - min(create_timestamp)) FROM runs "
                    "WHERE status = 'QUEUED'"
                )
            ).scalar()
    except sa.exc.SQLAlchemyError as exc:
        return Component(
            "dagster-storage",
            False,
            f"cannot connect to {where}: {_pg_error(exc)}",
            "check GA_INTEL_DAGSTER_DATABASE_URL (default: <platform database>_dagster on the same "
            "server); `ga-intel db upgrade` creates it",
        )
    finally:
        engine.dispose()
    queued, running = counts.get("QUEUED", 0), counts.get("STARTED", 0) + counts.get("STARTING", 0)
    detail = f"{where}: {running} run(s) in progress, {queued} queued"
    if oldest is not None:
        detail += f" (oldest queued {float(oldest) / 60:.0f} min)"
    return Component("dagster-storage", True, detail)


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
        return response.status, response.read(64_000)


def check_webserver(url: str) -> Component:
    target = f"{url.rstrip('/')}/server_info"
    try:
        status, body = _get(target)
        info = json.loads(body)
    except (OSError, urllib.error.URLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return Component(
            "dagster-webserver",
            False,
            f"no answer from {target}: {reason}",
            "start it: `make dev`, or `dagster-webserver -w workspace.yaml -p PORT` with DAGSTER_HOME "
            "set; see $GA_INTEL_HOME/logs/dagster-webserver.log",
        )
    version = info.get("dagster_webserver_version") or info.get("dagster_version") or "?"
    return Component("dagster-webserver", status == 200, f"{url} answers (dagster-webserver {version})")


def check_daemon(instance=None) -> Component:
    from dagster._daemon.controller import get_daemon_statuses

    from ga_intel.errors import GaIntelError
    from ga_intel.orchestration import instance as dagster_instance

    owned = instance is None
    try:
        instance = instance or dagster_instance.get(prepare=False)
    except GaIntelError as exc:
        return Component("dagster-daemon", False, exc.message, exc.hint)
    try:
        required = instance.get_required_daemon_types()
        statuses = get_daemon_statuses(instance, required, heartbeat_tolerance_seconds=HEARTBEAT_TOLERANCE_SECONDS)
    finally:
        if owned:
            instance.dispose()
    unhealthy = sorted(t for t, s in statuses.items() if not s.healthy)
    if not statuses:
        return Component("dagster-daemon", True, "no daemons required by this instance")
    if unhealthy:
        ages = []
        for t in unhealthy:
            beat = statuses[t].last_heartbeat
            if beat is None:
                ages.append(f"{t} (no heartbeat)")
            elif beat.errors:
                ages.append(f"{t} (errors: {beat.errors[0].message.strip().splitlines()[0][:200]})")
            else:
                ages.append(f"{t} (last heartbeat {time.time() - beat.timestamp:.0f} s ago)")
        return Component(
            "dagster-daemon",
            False,
            "not running or stuck: " + ", ".join(ages),
            "start it: `make dev`, or `dagster-daemon run -w workspace.yaml` with DAGSTER_HOME set; "
            "without it no schedule, sensor or queued run moves; see "
            "$GA_INTEL_HOME/logs/dagster-daemon.log",
        )
    return Component(
        "dagster-daemon", True, f"{len(statuses)} daemon(s) with fresh heartbeats: " + ", ".join(sorted(statuses))
    )


def check_streamlit(url: str) -> Component:
    target = f"{url.rstrip('/')}/_stcore/health"
    try:
        status, body = _get(target)
    except (OSError, urllib.error.URLError) as exc:
        reason = getattr(exc, "reason", None) or exc
        return Component(
            "streamlit",
            False,
            f"no answer from {target}: {reason}",
            "start it: `make dev`, or `streamlit run streamlit_app/app.py --server.port PORT`; see "
            "$GA_INTEL_HOME/logs/streamlit.log",
        )
    text = body.decode(errors="replace").strip()
    return Component("streamlit", status == 200 and text == "ok", f"{url} answers {text!r}")


def check_tenants() -> list[Component]:
    from ga_intel.connectors import check_all
    from ga_intel.db import placement
    from ga_intel.errors import GaIntelError
    from ga_intel.tenancy import store

    out = []
    for tenant_id in store.tenant_ids():
        ok, detail, fix = placement.status(tenant_id)
        out.append(Component(f"tenant {tenant_id}: data", ok, detail, fix))
        try:
            results = check_all(store.get(tenant_id))
        except GaIntelError as exc:
            out.append(Component(f"tenant {tenant_id}", False, exc.message, exc.hint))
            continue
        for r in results:
            fix = None
            if not r.ok:
                fix = (
                    f"fix the {r.service} settings with `ga-intel tenant update FILE` (or the dashboard's "
                    f"Settings page), then `ga-intel tenant check {tenant_id}`; see docs/RUNBOOK.md"
                )
            out.append(Component(f"tenant {tenant_id}: {r.service}", r.ok, r.detail, fix))
    return out


def run(
    dagster_url: str, streamlit_url: str, tenants: bool = False, skip: tuple[str, ...] = (), instance=None
) -> list[Component]:
    """Every check, in dependency order; a component whose dependency is down is
    reported as such instead of timing out a second time."""
    results: list[Component] = []
    db = storage = None
    if "platform-db" not in skip:
        db = _timed("platform-db", check_platform_db)
        results.append(db)
    if "dagster-storage" not in skip:
        storage = _timed("dagster-storage", check_dagster_storage)
        results.append(storage)
    if "dagster-webserver" not in skip:
        results.append(_timed("dagster-webserver", lambda: check_webserver(dagster_url)))
    if "dagster-daemon" not in skip:
        if storage is not None and not storage.ok:
            results.append(
                Component(
                    "dagster-daemon", False, "cannot tell: the Dagster storage is down", "fix dagster-storage first"
                )
            )
        else:
            results.append(_timed("dagster-daemon", lambda: check_daemon(instance)))
    if "streamlit" not in skip:
        results.append(_timed("streamlit", lambda: check_streamlit(streamlit_url)))
    if tenants:
        if db is not None and not db.ok:
            results.append(
                Component(
                    "tenants", False, "cannot list tenants: the platform database is down", "fix platform-db first"
                )
            )
        else:
            start = time.perf_counter()
            checked = check_tenants()
            for c in checked:
                c.seconds = round((time.perf_counter() - start) / max(1, len(checked)), 3)
            results.extend(checked)
    return results
