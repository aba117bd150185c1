"""The dashboard's "New tenant" page (streamlit_app/views/new_tenant.py), with AppTest,
against the real test servers: the BigQuery emulator, the sshd SFTP server, the aiosmtpd
SMTP server (STARTTLS + AUTH) and the suite's embedded PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from ga_intel.db.engine import owner_engine
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SA_PRIVATE_KEY_MARKER, drop_folder, tenant_data
from ga_intel_tests.helpers.masterdata import LOC_HEADER, LOCS, USER_HEADER, xlsx
from ga_intel_tests.helpers.pages import APP, rendered

OPERATOR = "ops@platform.example"
PAGE = "views/new_tenant.py"
DATASET = "wizard"
DAYS = [dt.date(2024, 5, 1), dt.date(2024, 5, 2), dt.date(2024, 5, 4)]


@pytest.fixture
def export_tables(bigquery_emulator):
    """Three daily export tables (a gap on May 3) in the emulator's `wizard` dataset."""
    from google.cloud import bigquery

    from ga_intel.connectors.bigquery import client
    from ga_intel.tenancy.tenant_file import BigQuerySettings

    bq = client(
        BigQuerySettings(project_id="test-project", dataset_id=DATASET, api_endpoint=bigquery_emulator.endpoint)
    )
    bq.create_dataset(f"test-project.{DATASET}", exists_ok=True)
    for day in DAYS:
        bq.create_table(
            bigquery.Table(
                f"test-project.{DATASET}.events_{day:%Y%m%d}", schema=[bigquery.SchemaField("event_name", "STRING")]
            ),
            exists_ok=True,
        )
    return bigquery_emulator


@pytest.fixture
def operator_env(db, secret_key, monkeypatch):
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_PLATFORM_OPERATORS", f"lead@platform.example, {OPERATOR.upper()}")
    monkeypatch.setenv("GA_INTEL_DAGSTER_URL", "http://dagster.test:3000")


def app_as(monkeypatch, email: str) -> AppTest:
    monkeypatch.setenv("GA_INTEL_DEV_USER", email)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def open_page(monkeypatch) -> AppTest:
    at = app_as(monkeypatch, OPERATOR)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "New tenant"
    return at


def _widget(at: AppTest, kind: str, step: str, name: str):
    prefix = f"nt:{step}:{name}:v"
    return next(w for w in getattr(at, kind) if w.key and w.key.startswith(prefix))


def fill(at: AppTest, step: str, **values) -> None:
    """Type `values` into the step's inputs (each found by its key, whatever its kind)."""
    for name, value in values.items():
        for kind in ("text_input", "text_area", "number_input", "checkbox", "selectbox"):
            try:
                _widget(at, kind, step, name).set_value(value)
                break
            except StopIteration:
                continue
        else:
            raise AssertionError(f"no input {step}.{name}")


def press(at: AppTest, step: str, label: str = "Test and continue") -> None:
    form = f"nt-form-{step}-v"
    next(b for b in at.button if b.form_id.startswith(form) and b.label == label).click()
    at.run()
    assert not at.exception, at.exception


def shown(at: AppTest) -> str:
    """What the browser got: every element and widget, not session state (server-side)."""
    return rendered(at, session_state=False)


def status(at: AppTest) -> list[str]:
    return [e.value for e in (*at.success, *at.error)]


def tenant_step(at: AppTest, tenant_id: str = "newco") -> None:
    fill(at, "tenant", id=tenant_id, name="Newco Supply", timezone="America/Chicago", admin="boss@newco.example")
    press(at, "tenant")
    assert f"OK — {tenant_id} is free" in status(at)


def bigquery_step(at: AppTest, emulator) -> None:
    fill(at, "bigquery", project_id="test-project", dataset_id=DATASET, api_endpoint=emulator.endpoint)
    press(at, "bigquery")


def sftp_step(at: AppTest, sshd, **overrides) -> None:
    """The SFTP step against the sshd, with password login unless `overrides` say otherwise."""
    at.radio[0].set_value("sftp").run()
    s = sshd.settings()
    values = {k: s[k] for k in ("host", "port", "username", "host_key", "remote_path")}
    if "private_key" not in overrides:
        values["password"] = s["password"]
    fill(at, "master_data", **{**values, **overrides})
    press(at, "master_data")


def smtp_step(at: AppTest, sink, password: str | None = None) -> None:
    fill(
        at,
        "smtp",
        server="127.0.0.1",
        port=sink.port,
        user_name=sink.user,
        password=password or sink.password,
        tls_ca_file=str(sink.cert_file),
        from_name="Newco Reports",
        from_address="reports@newco.example",
    )
    press(at, "smtp")


def stored_tenants() -> list[str]:
    return store.tenant_ids()


def test_an_operator_sees_new_tenant_and_a_member_does_not(operator_env, monkeypatch):
    store.add(tenant_file.validate(tenant_data("acme", folder=str(drop_folder("acme"))), "test"))

    at = open_page(monkeypatch)  # an operator with no tenant at all
    assert "1. Tenant" in [e.label for e in at.expander]
    assert any("opens once *Tenant* passes" in m.value for m in at.markdown)

    member = app_as(monkeypatch, "admin@acme.example")  # a tenant admin, not an operator
    assert member.title[0].value == "Overview"
    with pytest.raises(ValueError):  # not in their navigation: its URL does not open it
        member.switch_page(PAGE)

    # Someone with no tenant and no operator listing never gets past "No access", whatever
    # page they ask for.
    stranger = app_as(monkeypatch, "stranger@nowhere.example")
    stranger.switch_page(PAGE).run()
    assert not stranger.exception, stranger.exception
    assert [t.value for t in stranger.title] == ["No access"]
    assert not [w for w in stranger.text_input if w.key and w.key.startswith("nt:")]


def test_an_operator_taken_off_the_list_loses_the_page_at_once(operator_env, monkeypatch):
    """Who is an operator is asked again on every run, not remembered by the session."""
    at = open_page(monkeypatch)
    monkeypatch.setenv("GA_INTEL_PLATFORM_OPERATORS", "lead@platform.example")
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "No access"
    assert not [w for w in at.text_input if w.key and w.key.startswith("nt:")]


def test_the_page_script_refuses_without_an_operator(operator_env, monkeypatch):
    """Reached without app.py's sign-in (or with a forged session), the page itself refuses."""
    monkeypatch.setenv("GA_INTEL_DEV_USER", OPERATOR)
    at = AppTest.from_file(str(Path(APP).parent / PAGE), default_timeout=30)
    at.session_state["_platform_operator"] = "forged@nowhere.example"
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["Only platform operators may create tenants."]
    assert not [w for w in at.text_input if w.key and w.key.startswith("nt:")]


def test_a_failing_step_keeps_the_next_closed_stores_nothing_and_echoes_no_secret(
    operator_env, monkeypatch, export_tables
):
    at = open_page(monkeypatch)
    # A validation problem names the field and what to fix, at the field.
    fill(at, "tenant", id="Bad Id!", name="Newco", admin="not-an-email")
    press(at, "tenant")
    errors = [e.value for e in at.error]
    assert any(e.startswith("Tenant id (`id`):") and "should match pattern" in e for e in errors), errors
    assert any(e.startswith("First admin's email (`admin`): not a valid email address") for e in errors), errors
    assert not any(e.label.startswith("2.") for e in at.expander)

    tenant_step(at)
    # BigQuery with a service-account key the client cannot use: the step fails without
    # quoting the key, and PostgreSQL stays closed.
    key = json.dumps(
        {
            "type": "service_account",
            "client_email": "ga@newco.iam.gserviceaccount.com",
            "private_key": f"-----BEGIN PRIVATE KEY-----\n{SA_PRIVATE_KEY_MARKER}\n-----END PRIVATE KEY-----\n",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )
    fill(at, "bigquery", project_id="test-project", dataset_id=DATASET, service_account=key)
    fill(at, "bigquery", api_endpoint=export_tables.endpoint)
    press(at, "bigquery")
    failed = [e.value for e in at.error if e.value.startswith("Failed — bigquery")]
    assert failed and "service-account key cannot be used" in failed[0], status(at)
    assert any("opens once *BigQuery (GA4 export)* passes" in m.value for m in at.markdown)
    assert not [w for w in at.text_input if w.key and w.key.startswith("nt:postgres:")]
    page = shown(at)
    for i in range(len(SA_PRIVATE_KEY_MARKER) - 9):
        assert SA_PRIVATE_KEY_MARKER[i : i + 10] not in page
    assert "ga@newco.iam.gserviceaccount.com" not in page  # nothing of the JSON comes back
    # The key input is empty again; the page only says that one is kept.
    assert _widget(at, "text_area", "bigquery", "service_account").value == ""
    assert any(c.value == "Service-account key (JSON): •••• (kept, not shown)" for c in at.caption)

    # An emulator needs no key: forget the kept one, and the step passes.
    fill(at, "bigquery", _forget=True)
    bigquery_step(at, export_tables)
    assert any(s.startswith("OK — test-project.wizard: 3 daily table(s)") for s in status(at)), status(at)
    # PostgreSQL: a port nothing listens on fails with libpq's words, without the password.
    from ga_intel import ports

    fill(
        at,
        "postgres",
        host="127.0.0.1",
        port=ports.free_port(),
        database="newco",
        username="newco",
        password="pg-secret-newco-1234",
    )
    press(at, "postgres")
    failed = [e.value for e in at.error if e.value.startswith("Failed — postgres")]
    assert failed and "cannot connect to 127.0.0.1" in failed[0]
    assert "pg-secret-newco-1234" not in shown(at)
    assert not [w for w in at.text_input if w.key and w.key.startswith("nt:master_data:")]
    assert stored_tenants() == []


def test_postgres_step_shows_the_server_version(operator_env, monkeypatch, export_tables):
    from ga_intel import settings

    url = settings.database_urls().runtime
    at = open_page(monkeypatch)
    tenant_step(at)
    bigquery_step(at, export_tables)
    fill(
        at,
        "postgres",
        host=url.host,
        port=url.port,
        database=url.database,
        username=url.username,
        password=url.password or "unused-on-trust",
        sslmode="disable",
    )
    press(at, "postgres")
    assert any(s.startswith("OK — ") and "PostgreSQL" in s for s in status(at)), status(at)
    assert "PostgreSQL 1" in shown(at)  # the "Server version" row of the found table
    assert any(e.label.startswith("4.") for e in at.expander)  # master data opens
    assert stored_tenants() == []


def test_folder_files_with_problems_fail_the_step_naming_file_row_and_column(operator_env, monkeypatch, export_tables):
    import shutil

    from ga_intel.tenancy import folders

    shutil.rmtree(folders.tenant_root("newco"), ignore_errors=True)
    at = open_page(monkeypatch)
    tenant_step(at)
    bigquery_step(at, export_tables)
    press(at, "postgres", "Skip: keep its data in the platform database")
    at.radio[0].set_value("folder").run()
    # No drop folder yet: the check says so; asked to, the page creates it (empty).
    press(at, "master_data")
    assert any(e.value.startswith("Failed — folder: folder ") and "does not exist" in e.value for e in at.error)
    fill(at, "master_data", path="incoming", _create=True)
    press(at, "master_data")
    folder = folders.tenant_root("newco") / "incoming"
    assert folder.is_dir()
    assert any("UserReport.xlsx, Locations_List.xlsx missing" in e.value for e in at.error), status(at)

    (folder / "Locations_List.xlsx").write_bytes(xlsx(LOC_HEADER, LOCS))
    (folder / "UserReport.xlsx").write_bytes(
        xlsx(USER_HEADER, [["100001", "Ava", "Chen", "ava@c.example", "C1", "Chen Plumbing", "NOPE", "Y"]])
    )
    press(at, "master_data")
    failed = [e.value for e in at.error if e.value.startswith("Failed — ")]
    assert failed and "the files have 1 problem(s)" in failed[0], status(at)
    assert "UserReport.xlsx row 2, column 'warehouse_code': branch 'NOPE' is not in the locations list" in shown(at)
    assert not [w for w in at.text_input if w.key and w.key.startswith("nt:smtp:")]

    (folder / "UserReport.xlsx").write_bytes(
        xlsx(USER_HEADER, [["100001", "Ava", "Chen", "ava@c.example", "C1", "Chen Plumbing", "CHI", "Y"]])
    )
    press(at, "master_data")
    assert any(s.startswith("OK — ") for s in status(at)), status(at)
    page = shown(at)
    assert "1 customers" in page and "2 branches" in page
    assert stored_tenants() == []


def test_full_walk_through_creates_the_tenant_as_tenant_add_does(
    operator_env, monkeypatch, export_tables, drop, smtp_sink
):
    at = open_page(monkeypatch)
    tenant_step(at)
    bigquery_step(at, export_tables)
    page = shown(at)
    for text in ("3 daily `events_YYYYMMDD` table(s)", "2024-05-01", "2024-05-04"):
        assert text in page, text
    press(at, "postgres", "Skip: keep its data in the platform database")
    # A host key that is not one: the problem is shown at its field, with the fix.
    sftp_step(at, drop, private_key=drop.client_private_key, host_key="ssh-ed25519 not-base64!")
    assert any(
        e.value.startswith("Server host key ('ssh-ed25519 AAAA…') (`host_key`): the key part is not valid base64")
        for e in at.error
    ), [e.value for e in at.error]
    # Fixing the host key changes the endpoint: the kept private key is forgotten, and the
    # page says to type it again (as Settings does for a stored one).
    fill(at, "master_data", host_key=drop.host_key_line)
    press(at, "master_data")
    assert any("host_key changed, so the kept private_key was forgotten" in w.value for w in at.warning)
    fill(at, "master_data", private_key=drop.client_private_key)
    press(at, "master_data")
    assert any(s.startswith("OK — connected to 127.0.0.1") for s in status(at)), status(at)
    page = shown(at)
    assert "2 customers" in page and "2 branches" in page and "UserReport.xlsx" in page
    assert stored_tenants() == []

    # A wrong SMTP password fails the step without quoting it; SMTP stays the open step.
    smtp_step(at, smtp_sink, password="wrong-smtp-password-9876")
    failed = [e.value for e in at.error if e.value.startswith("Failed — smtp")]
    assert failed and "rejected the login" in failed[0], status(at)
    assert "wrong-smtp-password-9876" not in shown(at)
    assert not smtp_sink.messages
    assert not [b for b in at.button if b.key == "nt-create"]
    smtp_step(at, smtp_sink)
    assert any(s.endswith(f"test mail sent to {OPERATOR}") for s in status(at)), status(at)
    [mail] = smtp_sink.messages
    assert mail.rcpt_tos == [OPERATOR] and "newco" in mail.message()["Subject"]
    assert stored_tenants() == []  # every service passed, and still nothing is stored

    # No secret typed on the way is in what the browser got; each is shown as kept.
    page = shown(at)
    key_lines = [line for line in drop.client_private_key.splitlines() if len(line) > 20]
    for secret in (smtp_sink.password, *key_lines):
        assert secret not in page
    assert sum(c.value.endswith("•••• (kept, not shown)") for c in at.caption) == 2

    at.button(key="nt-create").click().run()
    assert not at.exception, at.exception
    assert any(s.startswith("Tenant `newco` created") for s in status(at)), status(at)
    assert any(m.value == "0 of 3" for m in at.metric)
    # Stored encrypted now, and no longer kept in the session.
    assert "_new_tenant_secrets" not in at.session_state or not at.session_state["_new_tenant_secrets"]
    for secret in (smtp_sink.password, *key_lines):
        assert secret not in rendered(at)

    # Stored as `tenant add` stores it: the same model, secrets only in the Fernet token.
    config = store.get("newco")
    assert config.name == "Newco Supply" and config.timezone == "America/Chicago" and config.postgres is None
    assert config.sftp.private_key.get_secret_value().strip() == drop.client_private_key.strip()
    assert config.sftp.password is None
    assert config.smtp.password.get_secret_value() == smtp_sink.password
    assert [(m.email, m.role) for m in config.members] == [("boss@newco.example", "admin")]
    with owner_engine().connect() as conn:
        rows = conn.execute(
            sa.text("SELECT section, config::text, secrets FROM control.tenant_settings WHERE tenant_id = 'newco'")
        ).all()
    by_section = {r.section: r for r in rows}
    assert set(by_section) >= {"bigquery", "sftp", "smtp"}
    for section, secret in (("sftp", key_lines[1]), ("smtp", smtp_sink.password)):
        assert secret not in by_section[section].config and secret not in by_section[section].secrets
        assert by_section[section].secrets.startswith("gAAAA")  # a Fernet token
    # The same checks as `ga-intel tenant check` pass on what was stored.
    from ga_intel.connectors import check_all

    assert all(r.ok for r in check_all(config)), check_all(config)


def test_create_refuses_an_id_taken_meanwhile_and_stores_nothing_else(
    operator_env, monkeypatch, export_tables, drop, smtp_sink
):
    at = open_page(monkeypatch)
    tenant_step(at)
    bigquery_step(at, export_tables)
    press(at, "postgres", "Skip: keep its data in the platform database")
    sftp_step(at, drop)
    smtp_step(at, smtp_sink)
    # Someone adds the same id with `tenant add` while the page is open.
    store.add(tenant_file.validate(tenant_data("newco", folder=str(drop_folder("newco"))), "test"))
    at.button(key="nt-create").click().run()
    assert not at.exception, at.exception
    assert any(e.value.startswith("`id`: a tenant 'newco' already exists") for e in at.error), status(at)
    assert store.get("newco").name == "Newco Supply" and store.get("newco").sftp is None  # the other one, untouched


def test_a_malformed_operator_list_is_named_with_the_fix(operator_env, monkeypatch):
    monkeypatch.setenv("GA_INTEL_PLATFORM_OPERATORS", f"{OPERATOR}, ops team")
    at = app_as(monkeypatch, OPERATOR)
    assert [e.value for e in at.error] == ["GA_INTEL_PLATFORM_OPERATORS: ops team is not an email address"]
    assert any("separated by commas" in c.value for c in at.caption)
    assert not [w for w in at.text_input if w.key and w.key.startswith("nt:")]


def test_a_tenant_created_with_its_own_postgresql_keeps_its_data_there(
    operator_env, monkeypatch, export_tables, drop, smtp_sink, tenant_pg_server
):
    import uuid

    from ga_intel.db import migrate, placement, tenant_scope
    from ga_intel_tests.servers.fixtures import TENANT_DB_PASSWORD

    database = f"newco_{uuid.uuid4().hex[:8]}"
    pg = tenant_pg_server(database)
    at = open_page(monkeypatch)
    tenant_step(at)
    bigquery_step(at, export_tables)
    fill(at, "postgres", **pg)
    press(at, "postgres")
    assert any(s.startswith("OK — ") for s in status(at)), status(at)
    assert any(s.startswith(f"OK — 127.0.0.1:{pg['port']}/{database}: PostgreSQL") for s in status(at)), status(at)
    assert f"empty: Create makes the database and migrates it to {migrate.head()}" in shown(at)
    assert TENANT_DB_PASSWORD not in shown(at)
    sftp_step(at, drop, private_key=drop.client_private_key)
    smtp_step(at, smtp_sink)
    assert stored_tenants() == []
    at.button(key="nt-create").click().run()
    assert not at.exception, at.exception
    assert any(s.startswith("Tenant `newco` created") for s in status(at)), status(at)
    assert TENANT_DB_PASSWORD not in rendered(at)

    # Its database was migrated at Create, and its data goes there.
    assert placement.location("newco").label == f"127.0.0.1:{pg['port']}/{database}"
    assert placement.status("newco")[0]
    with tenant_scope("newco") as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tenant_data.data_availability (tenant_id, event_date, source_table, status) "
                "VALUES ('newco', '2024-05-01', 'events_20240501', 'complete')"
            )
        )
    admin = sa.create_engine(tenant_pg_server.url.set(database=database), poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        assert conn.execute(sa.text("SELECT tenant_id FROM tenant_data.data_availability")).scalars().all() == ["newco"]
    admin.dispose()
