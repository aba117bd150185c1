"""The `ga-intel` command line.

Errors the user can fix (`GaIntelError`) print as one clear message and exit with 2; a
traceback means a bug in ga-intel. No command ever prints a secret: tenant settings are
shown through `store.redacted`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ga_intel.api.cli import api, token, webhook
from ga_intel.cli_support import ErrorsAsMessages, needs_database
from ga_intel.email.cli import email
from ga_intel.errors import GaIntelError
from ga_intel.ga4.cli import ga4
from ga_intel.masterdata.cli import masterdata, reps


@click.group(cls=ErrorsAsMessages)
def main() -> None:
    """ga-intel: GA4 sales intelligence, per tenant."""
    from ga_intel import logs

    # JSON lines (tenant, partition; secrets masked) into $GA_INTEL_HOME/logs/ga-intel.log;
    # the terminal keeps the commands' own human-readable output.
    logs.setup("cli")
    logs.logger("cli").info("ga-intel " + " ".join(sys.argv[1:]))


# --- db --------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """The platform database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the databases if needed and apply every migration: the platform database,
    then every tenant database (tenants with a postgres section), one at a time."""
    from ga_intel import settings
    from ga_intel.db import embedded, migrate

    if settings.database_urls().embedded:
        embedded.start()
    revision = migrate.upgrade()
    click.echo(f"platform database at revision {revision}")
    done = migrate.upgrade_tenant_databases(progress=click.echo)
    if done:
        click.echo(f"{len(done)} tenant database(s) at revision {revision}")


@db.command("start")
def db_start() -> None:
    """Start the embedded PostgreSQL (when GA_INTEL_DATABASE_URL is unset)."""
    from ga_intel import settings
    from ga_intel.db import embedded

    if not settings.database_urls().embedded:
        raise GaIntelError("GA_INTEL_DATABASE_URL is set: there is no embedded server to start")
    url = embedded.start()
    click.echo(f"embedded PostgreSQL running on {url.host}:{url.port}")


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    from ga_intel.db import embedded

    click.echo("stopped" if embedded.stop() else "not running")


@db.command("drop")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def db_drop(yes: bool) -> None:
    """Delete the platform and Dagster databases (every tenant, all data)."""
    import shutil

    import sqlalchemy as sa

    from ga_intel import settings
    from ga_intel.db import embedded

    urls = settings.database_urls()
    if urls.embedded:
        where = str(settings.home() / "postgres")
    else:
        where = ", ".join(u.render_as_string(hide_password=True) for u in (urls.platform, urls.dagster))
    if not yes:
        click.confirm(f"delete ALL ga-intel data in {where}?", abort=True)
    if urls.embedded:
        embedded.stop()
        shutil.rmtree(settings.home() / "postgres", ignore_errors=True)
    else:
        admin = sa.create_engine(urls.platform.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for url in (urls.platform, urls.dagster):
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        admin.dispose()
    click.echo(f"deleted {where}")


@db.command("url")
@click.option("--dagster", is_flag=True, help="the Dagster storage database instead")
def db_url(dagster: bool) -> None:
    """Print the database URL (password hidden)."""
    from ga_intel import settings

    urls = settings.database_urls()
    click.echo((urls.dagster if dagster else urls.platform).render_as_string(hide_password=True))


# --- tenants ---------------------------------------------------------------------------


@main.group()
def tenant() -> None:
    """Add, inspect, check and remove tenants."""


@tenant.command("add")
@click.argument("file", type=click.Path(path_type=Path))
@needs_database
def tenant_add(file: Path) -> None:
    """Validate FILE (YAML) and store it as a new tenant, secrets encrypted."""
    from ga_intel.tenancy import store, tenant_file

    config = tenant_file.load_file(file)
    store.add(config)
    click.echo(f"added tenant {config.id!r} ({config.name}); secrets stored encrypted")


@tenant.command("update")
@click.argument("file", type=click.Path(path_type=Path))
@needs_database
def tenant_update(file: Path) -> None:
    """Replace an existing tenant's settings with FILE."""
    from ga_intel.tenancy import store, tenant_file

    config = tenant_file.load_file(file)
    store.update(config)
    click.echo(f"updated tenant {config.id!r}")


@tenant.command("set-folder")
@click.argument("tenant_id")
@click.argument("path", required=False)
@click.option("--create", is_flag=True, help="create the folder if it does not exist")
@needs_database
def tenant_set_folder(tenant_id: str, path: str | None, create: bool) -> None:
    """Make a folder the tenant's master-data source. PATH lies inside the tenant's drop
    folder $GA_INTEL_FOLDER_ROOT/TENANT_ID (relative to it, or absolute); omitted, the
    drop folder itself. Only the operator sets this: the dashboard shows it read-only."""
    from ga_intel.tenancy import store

    real = store.set_folder(tenant_id, path, create=create)
    click.echo(f"tenant {tenant_id!r} reads its master-data files from {real}")


@tenant.command("list")
@needs_database
def tenant_list() -> None:
    """List tenants (never their secrets)."""
    from ga_intel.tenancy import store

    tenants = store.list_tenants()
    if not tenants:
        click.echo("no tenants yet; add one with `ga-intel tenant add tenant.yaml`")
        return
    rows = [("ID", "NAME", "TIMEZONE", "SERVICES", "MEMBERS", "UPDATED")]
    rows += [
        (
            t.tenant_id,
            t.name,
            t.timezone,
            ",".join(s for s in t.sections if s not in ("ga4", "rules", "master_data", "email")),
            str(t.members),
            t.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
        for t in tenants
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


@tenant.command("show")
@click.argument("tenant_id")
@needs_database
def tenant_show(tenant_id: str) -> None:
    """Show a tenant's settings as YAML, secrets masked."""
    import yaml

    from ga_intel.tenancy import store

    click.echo(yaml.safe_dump(store.redacted(store.get(tenant_id)), sort_keys=False, allow_unicode=True).rstrip())


@tenant.command("check")
@click.argument("tenant_id")
@needs_database
def tenant_check(tenant_id: str) -> None:
    """Try every configured service and say what works; exits 1 if any fails."""
    from ga_intel.connectors import check_all
    from ga_intel.tenancy import store

    results = check_all(store.get(tenant_id))
    for r in results:
        mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {r.service:<9} {r.detail}")
    if not all(r.ok for r in results):
        sys.exit(1)


@tenant.command("remove")
@click.argument("tenant_id")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@needs_database
def tenant_remove(tenant_id: str, yes: bool) -> None:
    """Delete a tenant with its settings and all of its data."""
    from ga_intel.tenancy import store

    if not yes:
        click.confirm(f"delete tenant {tenant_id!r}, its settings and ALL of its data?", abort=True)
    deleted = store.remove(tenant_id)
    total = sum(deleted.values())
    click.echo(f"removed tenant {tenant_id!r} and {total} data row(s)")


@tenant.command("move")
@click.argument("tenant_id")
@click.option(
    "--to-postgres",
    "to_postgres",
    type=click.Path(path_type=Path),
    help="YAML file whose top-level `postgres:` mapping names the target database (the tenant file itself will do)",
)
@click.option("--to-platform", is_flag=True, help="back into the platform database")
@click.option("--resume", is_flag=True, help="continue a move that was interrupted, from where it stopped")
@needs_database
def tenant_move(tenant_id: str, to_postgres: Path | None, to_platform: bool, resume: bool) -> None:
    """Move a tenant's data to another database; the tenant is unavailable while it copies.
    Safe to interrupt: `--resume` finishes it, nothing is deleted before the switch."""
    from ga_intel.tenancy import move, tenant_file

    if to_postgres and to_platform:
        raise GaIntelError("give --to-postgres FILE or --to-platform, not both")
    target = move._NO_TARGET
    if to_postgres:
        target = tenant_file.load_postgres_section(to_postgres)
    elif to_platform:
        target = None
    result = move.move(tenant_id, target, resume=resume, progress=click.echo)
    rows = sum(result.copied.values())
    click.echo(
        f"moved tenant {tenant_id!r} from {result.source} to {result.target}: {rows} row(s) in "
        f"{len(result.copied)} tables copied and verified, {sum(result.deleted.values())} deleted at the source "
        f"({result.seconds:.1f}s)"
    )


# --- keys ------------------------------------------------------------------------------


@main.group()
def keys() -> None:
    """The encryption key for tenant secrets."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (for GA_INTEL_SECRET_KEY)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
@needs_database
def keys_rotate() -> None:
    """Re-encrypt every secret under a new key, without downtime for readers."""
    from ga_intel import crypto
    from ga_intel.tenancy import store

    count = store.rotate_keys()
    _, source = crypto.load_keys()
    click.echo(f"re-encrypted {count} secret set(s) under the newest key in {source}")
    if source == crypto.ENV_VAR:
        click.echo(f"now remove the old key(s) from {crypto.ENV_VAR}")


# --- dev -------------------------------------------------------------------------------


@main.command("dev")
@click.option("--dagster-port", default=3000, show_default=True, envvar="DAGSTER_PORT")
@click.option("--streamlit-port", default=8501, show_default=True, envvar="STREAMLIT_PORT")
@click.option("--api-port", default=8000, show_default=True, envvar="API_PORT")
def dev(dagster_port: int, streamlit_port: int, api_port: int) -> None:
    """Run the product locally: database, Dagster UI + daemon, dashboard, API, demo tenant."""
    from ga_intel import devrun

    sys.exit(devrun.run(dagster_port, streamlit_port, echo=click.echo, api_port=api_port))


@main.command("health")
@click.option("--json", "as_json", is_flag=True, help="one JSON object: healthy, components[]")
@click.option("--tenants", is_flag=True, help="also check every tenant's BigQuery, SFTP/folder, SMTP (slower)")
@click.option(
    "--dagster-url",
    envvar="GA_INTEL_DAGSTER_URL",
    help="Dagster UI base URL  [default: http://127.0.0.1:$DAGSTER_PORT, port 3000]",
)
@click.option(
    "--streamlit-url",
    envvar="GA_INTEL_STREAMLIT_URL",
    help="dashboard base URL  [default: http://127.0.0.1:$STREAMLIT_PORT, port 8501]",
)
@click.option(
    "--skip",
    multiple=True,
    type=click.Choice(["platform-db", "dagster-storage", "dagster-webserver", "dagster-daemon", "streamlit"]),
    help="leave a component out (repeatable), e.g. where it runs elsewhere",
)
def health_cmd(
    as_json: bool, tenants: bool, dagster_url: str | None, streamlit_url: str | None, skip: tuple[str, ...]
) -> None:
    """Check every component; exits 1 naming the unhealthy ones and how to fix them."""
    import json
    import os

    from ga_intel import health, logs

    dagster_url = dagster_url or f"http://127.0.0.1:{os.environ.get('DAGSTER_PORT', '3000')}"
    streamlit_url = streamlit_url or f"http://127.0.0.1:{os.environ.get('STREAMLIT_PORT', '8501')}"
    results = health.run(dagster_url, streamlit_url, tenants=tenants, skip=skip)
    healthy = all(r.ok for r in results)
    log = logs.logger("health")
    for r in results:
        log.log(
            20 if r.ok else 40,
            f"{r.name}: {'ok' if r.ok else 'UNHEALTHY'}: {r.detail}"
            + (f" (fix: {r.fix})" if r.fix and not r.ok else ""),
        )
    if as_json:
        click.echo(
            json.dumps(
                {
                    "healthy": healthy,
                    "unhealthy": [r.name for r in results if not r.ok],
                    "components": [r.as_dict() for r in results],
                },
                indent=2,
            )
        )
    else:
        width = max(len(r.name) for r in results) if results else 0
        for r in results:
            mark = click.style("ok  ", fg="green") if r.ok else click.style("FAIL", fg="red")
            click.echo(f"{mark} {r.name:<{width}}  {r.detail}")
            if not r.ok and r.fix:
                click.echo(f"     {'':<{width}}  fix: {r.fix}")
        bad = [r.name for r in results if not r.ok]
        click.echo(
            click.style("healthy", fg="green") if healthy else click.style(f"unhealthy: {', '.join(bad)}", fg="red")
        )
    if not healthy:
        sys.exit(1)


@main.command("run")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--date", "start", type=click.DateTime(["%Y-%m-%d"]), required=True, help="first day (YYYY-MM-DD)")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="last day (default: --date)")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="compute tasks as if the tenant's local date were this (what is stale or expired; default today)",
)
@needs_database
def run_cmd(tenant_id: str, start, end, as_of) -> None:
    """Materialize the pipeline for a tenant's days, in-process.

    Loads the tenant's master data first when it was never loaded or its files changed."""
    from ga_intel.orchestration.run import days, ensure_master_data, run_days
    from ga_intel.tenancy import store

    todo = days(start.date(), (end or start).date())
    store.get(tenant_id)  # a clear error for an unknown tenant, before any work
    ensure_master_data(tenant_id, echo=click.echo)
    failed = run_days(tenant_id, todo, echo=click.echo, as_of=as_of.date() if as_of else None)
    if failed:
        sys.exit(1)


@main.command("bench")
@click.argument(
    "suites",
    nargs=-1,
    type=click.Choice(["ingest", "load", "replay", "masterdata", "email", "scale", "dashboard", "rollups", "api"]),
)
@click.option("--json", "as_json", is_flag=True, help="one JSON object per measurement")
@click.option("--rows", default=200_000, show_default=True, help="rows for the load-stage benchmark")
@click.option(
    "--events",
    multiple=True,
    type=int,
    default=[100_000],
    show_default=True,
    help="events per day for the end-to-end and replay benchmarks (repeatable, e.g. --events 1000000)",
)
@click.option("--tenants", default=50, show_default=True, help="tenants for the scale benchmark")
@click.option("--days", default=730, show_default=True, help="days of partitions for the scale benchmark")
@click.option(
    "--history-days",
    default=365,
    show_default=True,
    help="days of history for the dashboard and roll-up benchmarks",
)
@click.option(
    "--raw-days",
    default=30,
    show_default=True,
    help="days of raw GA4-table rows (customer activity) for the dashboard benchmark",
)
@click.option(
    "--events-per-day",
    default=1_000_000,
    show_default=True,
    help="GA4 events a day the dashboard and roll-up benchmarks' history is sized for",
)
@click.option(
    "--rounds",
    default=3,
    show_default=True,
    help="rounds of the roll-up benchmark (each: without triggers, current, former functions)",
)
@click.option("--repeats", default=40, show_default=True, help="runs of each page (or API request) for the p95")
@click.option(
    "--api-days",
    default=30,
    show_default=True,
    help="days of history for the API benchmark (365 with --api-events-per-day 1000000: the dashboard's year)",
)
@click.option(
    "--api-events-per-day",
    default=50_000,
    show_default=True,
    help="GA4 events a day the API benchmark's history is sized for",
)
@needs_database
def bench_cmd(
    suites: tuple[str, ...],
    as_json: bool,
    rows: int,
    events: tuple[int, ...],
    tenants: int,
    days: int,
    history_days: int,
    raw_days: int,
    events_per_day: int,
    rounds: int,
    repeats: int,
    api_days: int,
    api_events_per_day: int,
) -> None:
    """Measure speed and memory against same-run baselines (see docs/PERFORMANCE.md)."""
    from ga_intel.devrun import DEV_NETWORKS, REPO

    # The benchmarks' tenants point at stand-ins (BigQuery emulator, SMTP) the bench starts
    # on loopback, which tenant connections may not reach unless allowed (connectors/targets.py).
    os.environ.setdefault("GA_INTEL_ALLOWED_NETWORKS", DEV_NETWORKS)
    # bench/ lives beside the package in a source checkout; an installed ga-intel has no bench.
    if not (REPO / "bench" / "__init__.py").is_file():
        raise GaIntelError(
            f"ga-intel bench needs a source checkout: no bench/ beside the package ({REPO})",
            hint="clone the repository and run `make setup`, then `uv run ga-intel bench` there",
        )
    sys.path.insert(0, str(REPO))
    from bench import api, dashboard, email, ingest, masterdata, replay, rollups, scale

    runs = {
        "ingest": lambda: ingest.run(click.echo, rows=rows, events=events),
        "load": lambda: ingest.run(click.echo, rows=rows, events=()),  # the load stage alone
        "replay": lambda: replay.run(lambda m: click.echo(m, err=as_json), events=events),
        "masterdata": lambda: masterdata.run(click.echo),
        "scale": lambda: scale.run(lambda m: click.echo(m, err=as_json), tenants=tenants, days=days),
        "email": lambda: email.run(click.echo),
        "dashboard": lambda: dashboard.run(
            lambda m: click.echo(m, err=as_json),
            days=history_days,
            raw_days=raw_days,
            events_per_day=events_per_day,
            repeats=repeats,
        ),
        "rollups": lambda: rollups.run(
            lambda m: click.echo(m, err=as_json), days=history_days, events_per_day=events_per_day, rounds=rounds
        ),
        "api": lambda: api.run(
            lambda m: click.echo(m, err=as_json), days=api_days, events_per_day=api_events_per_day, repeats=repeats
        ),
    }
    for suite in suites or tuple(s for s in runs if s != "load"):  # ingest includes load
        for m in runs[suite]():
            click.echo(m.line() if as_json else m.text())


main.add_command(email)
main.add_command(ga4)
main.add_command(reps)
main.add_command(masterdata)
main.add_command(token)
main.add_command(api)
main.add_command(webhook)

if __name__ == "__main__":
    main()
