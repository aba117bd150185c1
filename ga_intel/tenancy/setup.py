"""Creating a tenant one service at a time: the checks behind the dashboard's "New tenant"
page (streamlit_app/views/new_tenant.py), which only a platform operator sees.

Each step validates its section with the tenant-file model (`tenant_file.problems_in`:
the same messages as `ga-intel tenant add`), then tests the service with the same checks
as `ga-intel tenant check` (connectors/), and says what it found. Nothing is stored until
`create`, which validates the whole tenant with `tenant_file.validate` and stores it with
`store.add`, exactly as `tenant add` does (secrets encrypted). From there the Dagster
sensors load its history: `tenant_sync_sensor` adds its partitions, and its export sensor
requests every export day as catch-up runs (docs/INGESTION.md).

Every detail returned here passes through `connectors.guarded`, which masks the section's
secrets: a failed check never shows a password, key or service-account JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ga_intel.connectors import CheckResult, guarded
from ga_intel.tenancy.tenant_file import SECTIONS, MasterDataSettings, TenantConfig, problems_in

SOURCE = "the New tenant page"
# The steps in order; "master_data" is the sftp or the folder section.
STEPS = ("tenant", "bigquery", "postgres", "master_data", "smtp")
TENANT_FIELDS = ("id", "name", "timezone", "members")


@dataclass
class StepResult:
    ok: bool
    detail: str = ""  # the check's one-line answer (secrets masked)
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field path, what to fix)
    facts: list[tuple[str, str]] = field(default_factory=list)  # what the check found, to show
    skipped: bool = False
    export_days: int = 0  # the BigQuery step: daily export tables found


def _invalid(data: dict, fields: tuple[str, ...]) -> StepResult | None:
    problems = problems_in(data, fields, SOURCE, check_paths=True)
    if problems:
        return StepResult(False, f"{len(problems)} setting(s) to fix", problems=problems)
    return None


def check_tenant(data: dict) -> StepResult:
    """Id, name, timezone and the first admin; the id must be free."""
    from ga_intel.tenancy import store

    bad = _invalid(data, TENANT_FIELDS)
    if bad:
        return bad
    if data["id"] in store.tenant_ids():
        return StepResult(
            False,
            f"a tenant {data['id']!r} already exists",
            problems=[("id", f"a tenant {data['id']!r} already exists; choose another id")],
        )
    admins = ", ".join(m["email"] for m in data.get("members", []))
    return StepResult(
        True,
        f"{data['id']} is free",
        facts=[("Tenant", f"{data['name']} (`{data['id']}`)"), ("Timezone", data["timezone"]), ("Admin", admins)],
    )


def check_bigquery(data: dict) -> StepResult:
    """The GA4 export dataset: its daily tables, first and last day."""
    from ga_intel.connectors import bigquery

    bad = _invalid(data, ("bigquery",))
    if bad:
        return bad
    settings = SECTIONS["bigquery"].model_validate(data["bigquery"])
    facts: list[tuple[str, str]] = []
    found: list[str] = []

    def survey(s) -> CheckResult:
        result = bigquery.check(s)  # what `tenant check` runs
        if not result.ok:
            return result
        days = bigquery.export_days(s)
        found.extend(days)
        first, last = (dt.datetime.strptime(d, "%Y%m%d").date() for d in (days[0], days[-1]))
        span = (last - first).days + 1
        facts.extend(
            [
                ("Dataset", f"{s.project_id}.{s.dataset_id}"),
                ("Export tables", f"{len(days):,} daily `events_YYYYMMDD` table(s)"),
                ("First day", first.isoformat()),
                ("Last day", last.isoformat()),
                ("Days missing in between", f"{span - len(days):,}"),
            ]
        )
        return result

    result = guarded("bigquery", survey, settings)
    return StepResult(result.ok, result.detail, facts=facts if result.ok else [], export_days=len(found))


def check_postgres(data: dict) -> StepResult:
    """The tenant's own PostgreSQL (optional): the server answers and its version."""
    from ga_intel.connectors import postgres

    bad = _invalid(data, ("postgres",))
    if bad:
        return bad
    settings = SECTIONS["postgres"].model_validate(data["postgres"])
    result = guarded("postgres", postgres.check, settings)
    if not result.ok and f'database "{settings.database}" does not exist' in result.detail:
        return _missing_database(settings)
    facts = []
    if result.ok:
        where, _, version = result.detail.partition(": ")
        facts = [("Database", where), ("Server version", version), ("Schema", _schema_state(data))]
    return StepResult(result.ok, result.detail, facts=facts)


def _missing_database(settings) -> StepResult:
    """The database is not there yet: fine if the login may create it (Create does, as
    `tenant add` does), checked through the server's maintenance database."""
    import sqlalchemy as sa

    from ga_intel.db import migrate, placement

    where = f"{settings.host}:{settings.port}/{settings.database}"
    eng = sa.create_engine(placement.owner_url(settings).set(database="postgres"), poolclass=sa.pool.NullPool)
    try:
        with eng.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar()
            may_create = conn.execute(
                sa.text("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user")
            ).scalar()
    except sa.exc.SQLAlchemyError:
        return StepResult(
            False,
            f"postgres: database {where} does not exist, and {settings.username} cannot reach the server's "
            "`postgres` database to create it: create the database (owned by this login) and test again",
        )
    finally:
        eng.dispose()
    if not may_create:
        return StepResult(
            False,
            f"postgres: database {where} does not exist and {settings.username} may not create databases: "
            "create it (owned by this login), or grant CREATEDB, and test again",
        )
    return StepResult(
        True,
        f"{where}: PostgreSQL {version}; the database does not exist yet",
        facts=[
            ("Database", where),
            ("Server version", f"PostgreSQL {version}"),
            (
                "Schema",
                f"empty: Create makes the database and migrates it to {migrate.head()}, "
                "then keeps the tenant's data there",
            ),
        ],
    )


def _schema_state(data: dict) -> str:
    """What Create will do to the tenant's database (it migrates it before storing the
    tenant, as `tenant add` does): read as the login, nothing written."""
    import sqlalchemy as sa

    from ga_intel.db import migrate, placement

    settings = SECTIONS["postgres"].model_validate(data["postgres"])
    eng = sa.create_engine(placement.owner_url(settings), poolclass=sa.pool.NullPool)
    try:
        with eng.connect() as conn:
            current = placement.revision_of(conn)
    except sa.exc.SQLAlchemyError:
        return "could not read the schema revision; Create will try to migrate it"
    finally:
        eng.dispose()
    head = migrate.head()
    if current == head:
        return f"ga-intel schema at {head}: the tenant's data will be kept here"
    return (
        f"{'empty' if current is None else f'ga-intel schema at {current}'}: Create migrates it to {head} "
        "(the login needs to create roles), then keeps the tenant's data here"
    )


def skip_postgres() -> StepResult:
    return StepResult(True, "skipped: the tenant's data stays in the platform database", skipped=True)


def check_master_data(data: dict, create_folder: bool = False) -> StepResult:
    """The SFTP server or folder: both files present, read and validated as a load would,
    with their row counts. A file with problems fails the step (its first load would).
    `create_folder`: make the folder first (inside the tenant's drop folder only)."""
    from ga_intel.connectors import folder, sftp
    from ga_intel.masterdata.load import check_files, fetch_files
    from ga_intel.tenancy import folders

    section = "sftp" if data.get("sftp") is not None else "folder"
    bad = _invalid(data, (section, "master_data"))
    if bad:
        return bad
    if section == "folder" and create_folder:
        try:
            folders.create(data["id"], data["folder"].get("path"))
        except folders.FolderOutsideRoot as exc:
            return StepResult(False, exc.message, problems=[("folder.path", f"{exc.message}; {exc.hint}")])
    settings = SECTIONS[section].model_validate(data[section])
    mapping = MasterDataSettings.model_validate(data.get("master_data") or {})
    tenant_id = data["id"]
    facts: list[tuple[str, str]] = []
    problems: list[tuple[str, str]] = []

    def survey(s) -> CheckResult:
        if section == "sftp":
            listed = sftp.check(s)
            session = lambda: sftp.open_session(s)  # noqa: E731
        else:
            listed = folder.check(s, tenant_id)
            session = lambda: folder.open_session(s, tenant_id)  # noqa: E731
        if not listed.ok:
            return listed
        files = fetch_files(session, s, tenant_id)
        checked = check_files(mapping, files, coverage={})
        for kind, rows, label in (("users", checked.users, "customers"), ("locations", checked.locations, "branches")):
            f = files[kind]
            ignored = checked.ignored_columns.get(kind) or []
            facts.append(
                (
                    f.name,
                    f"{len(rows):,} {label} ({f.size:,} bytes)"
                    + (f"; columns not used: {', '.join(ignored)}" if ignored else ""),
                )
            )
        reps = sum(1 for loc in checked.locations if loc.get("rep_email"))
        facts.append(("Sales reps in the locations list", f"{reps:,}"))
        if checked.report.warnings:
            facts.append(("Warnings", f"{len(checked.report.warnings):,}, e.g. {checked.report.warnings[0]}"))
        if checked.report.problems:
            problems.extend((p.file, str(p)) for p in checked.report.problems[:20])
            return CheckResult(
                section,
                False,
                f"{listed.detail}, but the files have {len(checked.report.problems)} problem(s); fix the "
                "file(s) and test again (docs/MASTER_DATA.md)",
            )
        return listed

    result = guarded(section, survey, settings)
    return StepResult(result.ok, result.detail, problems=problems, facts=facts)


def check_smtp(data: dict, operator_email: str) -> StepResult:
    """Log in as the tenant's reports will, then send a test mail to the operator."""
    from ga_intel.connectors import smtp
    from ga_intel.email.deliver import display_name

    bad = _invalid(data, ("smtp",))
    if bad:
        return bad
    settings = SECTIONS["smtp"].model_validate(data["smtp"], context={"check_paths": True})

    def send(s) -> CheckResult:
        result = smtp.check(s)  # what `tenant check` runs
        if not result.ok:
            return result
        msg = EmailMessage()
        msg["Subject"] = f"ga-intel: test mail for the new tenant {data['id']}"
        msg["From"] = Address(display_name(s.from_name), addr_spec=s.from_address)
        msg["To"] = operator_email
        msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
        msg["Message-ID"] = make_msgid(domain=s.from_address.rsplit("@", 1)[-1])
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(
            f"This is the test mail of ga-intel's New tenant page, sent through {s.server}:{s.port} "
            f"for the tenant {data['id']!r}.\nThe tenant's morning reports will go out the same way.\n"
        )
        with smtp.connect(s) as conn:
            refused = conn.send_message(msg, s.from_address, [operator_email])
        if refused:
            return CheckResult("smtp", False, f"{result.detail}, but it refused the test mail to {operator_email}")
        return CheckResult("smtp", True, f"{result.detail}; test mail sent to {operator_email}")

    result = guarded("smtp", send, settings)
    facts = [("Test mail", f"sent to {operator_email}: check that it arrived")] if result.ok else []
    return StepResult(result.ok, result.detail, facts=facts)


def create(data: dict) -> TenantConfig:
    """Validate the whole tenant and store it, as `ga-intel tenant add` does (raises
    TenantFileError naming each field to fix; stores nothing then)."""
    from ga_intel.tenancy import store, tenant_file

    config = tenant_file.validate(data, SOURCE, check_paths=True)
    store.add(config)
    return config


def runs_link(tenant_id: str) -> str:
    """The tenant's runs in the Dagster UI (its catch-up runs among them)."""
    from urllib.parse import quote

    from ga_intel.orchestration.partitions import TENANT_RUN_TAG
    from ga_intel.orchestration.submit import dagster_url

    return f"{dagster_url()}/runs?{quote('q[]')}={quote(f'tag:{TENANT_RUN_TAG}={tenant_id}')}"


def days_loaded(tenant_id: str) -> dict[str, int]:
    """Days of the tenant's export loaded so far, by status (data_availability)."""
    import sqlalchemy as sa

    from ga_intel.db import tenant_scope

    with tenant_scope(tenant_id) as conn:
        rows = conn.execute(
            sa.text("SELECT status, count(*) FROM tenant_data.data_availability GROUP BY status ORDER BY status")
        ).all()
    return {status: count for status, count in rows}
