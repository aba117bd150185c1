"""Tenant data placement (issue 19) against two real PostgreSQL servers: the platform one
and a second embedded server (`tenant_pg_server`) where tenants keep their own databases.

Each test names a fresh database on the second server, so tests never share rows there.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ga_intel.db import control, migrate, placement, tenant_scope
from ga_intel.db.engine import owner_engine
from ga_intel.errors import GaIntelError, TenantFileError
from ga_intel.tenancy import store, tenant_file
from ga_intel.tenancy.store import tenant_tables
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.placement import downgrade_one, fresh_db
from ga_intel_tests.helpers.rows import insert, sample_row
from ga_intel_tests.servers.fixtures import TENANT_DB_PASSWORD


def add_tenant(tenant_id: str, pg: dict | None, **overrides):
    data = tenant_data(tenant_id, **overrides)
    if pg is not None:
        data["postgres"] = pg
    config = tenant_file.validate(data, "test")
    store.add(config)
    return config


def rows_by_tenant(url: sa.engine.URL, tables: list[str]) -> dict[str, dict[str, int]]:
    """table -> tenant -> rows, read as the server's administrator behind ga-intel's back.
    `row_security = off` makes a login that RLS would filter fail instead of seeing nothing."""
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    out: dict[str, dict[str, int]] = {}
    with eng.connect() as conn:
        conn.execute(sa.text("SET row_security = off"))
        for table in tables:
            out[table] = dict(
                conn.execute(sa.text(f'SELECT tenant_id, count(*) FROM tenant_data."{table}" GROUP BY 1')).all()
            )
    eng.dispose()
    return out


def platform_rows(tables: list[str]) -> dict[str, dict[str, int]]:
    return rows_by_tenant(owner_engine().url, tables)


def fill(tenant_id: str, tables: list[str]) -> None:
    """A sample row in every tenant table (roll-ups kept by triggers may already hold the
    row an earlier table's sample made: then that one stands)."""
    with tenant_scope(tenant_id) as conn:
        for table in tables:
            with conn.begin_nested():
                if not conn.execute(sa.text(f'SELECT count(*) FROM tenant_data."{table}"')).scalar():
                    insert(conn, table, sample_row(conn, table, tenant_id))


def test_a_tenant_with_its_own_database_has_every_row_there_and_none_in_the_platform(db, secret_key, tenant_pg_server):
    database = fresh_db()
    add_tenant("own", tenant_pg_server(database))
    add_tenant("plat", None)
    with control() as conn:
        tables = tenant_tables(conn)
    for tenant_id in ("own", "plat"):
        fill(tenant_id, tables)

    there = rows_by_tenant(tenant_pg_server.url.set(database=database), tables)
    here = platform_rows(tables)
    for table in tables:
        assert set(there[table]) == {"own"}, f"{table} on the tenant's server: {there[table]}"
        assert set(here[table]) == {"plat"}, f"{table} in the platform database: {here[table]}"

    # Readers follow the tenant: each sees exactly its own row, wherever it is.
    for tenant_id in ("own", "plat"):
        with tenant_scope(tenant_id) as conn:
            assert conn.execute(sa.text("SELECT tenant_id FROM tenant_data.sales_reps")).scalars().all() == [tenant_id]
            who = conn.execute(sa.text("SELECT session_user, current_user")).one()
        expected = "ga_intel_tenant_runtime" if tenant_id == "own" else "ga_intel_runtime"
        assert who == (expected, "ga_intel_app")

    # The tenant database's password is stored encrypted, like every tenant secret.
    with owner_engine().connect() as conn:
        raw = conn.execute(
            sa.text("SELECT config::text, secrets FROM control.tenant_settings WHERE section = 'postgres'")
        ).one()
    assert TENANT_DB_PASSWORD not in raw[0] and TENANT_DB_PASSWORD not in raw[1]


def test_row_level_security_binds_on_the_tenant_database_too(db, secret_key, tenant_pg_server):
    database = fresh_db()
    pg = tenant_pg_server(database)
    add_tenant("one", pg)
    add_tenant("two", pg)  # two tenants sharing one database: the wall is RLS there as well
    for tenant_id in ("one", "two"):
        with tenant_scope(tenant_id) as conn:
            insert(conn, "sales_reps", sample_row(conn, "sales_reps", tenant_id))
    with tenant_scope("one") as conn:
        assert conn.execute(sa.text("SELECT tenant_id FROM tenant_data.sales_reps")).scalars().all() == ["one"]
        conn.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.sales_reps")).scalar() == 0
        with pytest.raises(sa.exc.DBAPIError):
            conn.execute(sa.text("RESET ROLE"))
            conn.execute(sa.text("SELECT count(*) FROM tenant_data.sales_reps"))


def test_the_pipeline_email_dashboard_and_api_use_the_tenant_database(
    db, secret_key, tenant_pg_server, smtp_sink, monkeypatch, api_url
):
    from ga_intel.email.deliver import send_day
    from ga_intel_tests.helpers.email import KARA, MORNING, deliveries, shop_data
    from ga_intel_tests.helpers.pages import open_page
    from ga_intel_tests.helpers.shop import D1, Shop

    database = fresh_db()
    data = shop_data(smtp_sink)
    data["postgres"] = tenant_pg_server(database)
    shop = Shop("shop", data=data)
    shop.purchase(D1, 15, 1250.0, "T-100", customer="u1")
    shop.available(D1)
    shop.run(D1)  # the insights asset, through dagster.materialize

    assert "purchase:T-100" in shop.tasks()
    url = tenant_pg_server.url.set(database=database)
    there = rows_by_tenant(url, ["tasks", "daily_metrics", "purchases"])
    assert there["tasks"].get("shop") and there["daily_metrics"].get("shop") and there["purchases"].get("shop")
    assert platform_rows(["tasks", "daily_metrics", "purchases", "email_deliveries"]) == {
        "tasks": {},
        "daily_metrics": {},
        "purchases": {},
        "email_deliveries": {},
    }

    outcome = send_day("shop", D1, now=MORNING)
    assert outcome.sent >= 1 and outcome.failed == 0
    assert any(KARA in m.rcpt_tos for m in smtp_sink.messages)
    assert deliveries()[("CHI", KARA)]["status"] == "sent"
    assert rows_by_tenant(url, ["email_deliveries"])["email_deliveries"]["shop"] >= 1
    assert platform_rows(["email_deliveries"]) == {"email_deliveries": {}}

    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    at = open_page(monkeypatch, "admin@shop.example", "tasks")
    at.sidebar.date_input(key="date_range").set_value((D1, D1)).run()
    assert not at.exception
    [table] = [d for d in at.dataframe if "task_key" in d.value.columns]
    assert "purchase:T-100" in set(table.value["task_key"])

    from ga_intel_tests.helpers.api import client, make_token

    with client(api_url, make_token("shop", scopes="tasks:read")) as api:
        listed = api.get("/v1/tasks", params={"created_from": str(D1), "created_to": str(D1)})
    assert listed.status_code == 200, listed.text
    assert "purchase:T-100" in {t["task_key"] for t in listed.json()["data"]}


def test_a_tenant_database_behind_the_migrations_is_refused_then_upgraded(db, secret_key, tenant_pg_server):
    database = fresh_db()
    config = add_tenant("lagging", tenant_pg_server(database))
    loc = placement.location_from_section(config.postgres)
    head = migrate.head()
    downgrade_one(loc)
    placement.forget()

    with pytest.raises(GaIntelError) as err:
        with tenant_scope("lagging"):
            pass
    assert f"{loc.label} is at schema revision" in err.value.message and head in err.value.message
    assert "ga-intel db upgrade" in err.value.hint
    ok, detail, fix = placement.status("lagging")
    assert not ok and "schema revision" in detail and "db upgrade" in fix

    from click.testing import CliRunner

    from ga_intel import health
    from ga_intel.cli import main

    [data] = [c for c in health.check_tenants() if c.name == "tenant lagging: data"]
    assert not data.ok and "schema revision" in data.detail and "db upgrade" in data.fix

    result = CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"[1/1] tenant database {loc.label} (lagging)" in result.output
    assert f"-> {head}" in result.output and TENANT_DB_PASSWORD not in result.output
    with tenant_scope("lagging") as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.tasks")).scalar() == 0
    assert placement.status("lagging")[0]


def test_an_unreachable_tenant_database_is_a_clear_error_without_the_password(db, secret_key, tenant_pg_server):
    from ga_intel import ports

    pg = tenant_pg_server(fresh_db())
    pg["port"] = ports.free_port()  # nothing listens there
    with pytest.raises(GaIntelError) as err:
        add_tenant("gone", pg)
    text = f"{err.value.message} {err.value.hint}"
    assert f"127.0.0.1:{pg['port']}" in text and TENANT_DB_PASSWORD not in text
    assert store.tenant_ids() == []  # nothing stored


def test_settings_cannot_move_a_tenants_data_only_the_move_command_can(db, secret_key, tenant_pg_server):
    database = fresh_db()
    config = add_tenant("stay", tenant_pg_server(database))
    data = tenant_data("stay")
    data["postgres"] = {**tenant_pg_server(database), "database": fresh_db()}
    with pytest.raises(TenantFileError) as err:
        store.update(tenant_file.validate(data, "test"))
    [(field, message)] = err.value.problems
    assert field == "postgres.database" and "ga-intel tenant move stay" in message
    data["postgres"] = None
    with pytest.raises(TenantFileError, match="--to-platform"):
        store.update(tenant_file.validate(data, "test"))
    add_tenant("plat", None)
    moved = {**tenant_data("plat"), "postgres": tenant_pg_server(fresh_db())}
    with pytest.raises(TenantFileError, match="--to-postgres"):
        store.update(tenant_file.validate(moved, "test"))
    # The same database with another sslmode is a settings change like any other.
    data["postgres"] = {**tenant_pg_server(database), "sslmode": "prefer"}
    store.update(tenant_file.validate(data, "test"))
    assert store.get("stay").postgres.sslmode == "prefer"
    assert placement.location("stay").label == placement.location_from_section(config.postgres).label


def test_removing_a_tenant_deletes_its_rows_in_its_own_database(db, secret_key, tenant_pg_server):
    database = fresh_db()
    add_tenant("gone", tenant_pg_server(database))
    with control() as conn:
        tables = tenant_tables(conn)
    fill("gone", tables)
    deleted = store.remove("gone")
    # Roll-up rows may go with their base rows (triggers): every table is visited, rows gone.
    assert set(deleted) == set(tables) and sum(deleted.values()) >= len(tables) - 5, deleted
    there = rows_by_tenant(tenant_pg_server.url.set(database=database), tables)
    assert all(not counts for counts in there.values())
    assert store.tenant_ids() == []


def test_the_tenant_database_login_has_one_password_per_server(db, secret_key):
    # A tenant running its own server can learn the password ga-intel uses there: it must
    # open no other server.
    first, second = placement.runtime_password("db.acme.example:5432"), placement.runtime_password("10.0.0.7:5432")
    assert first != second and len(first) >= 32
    placement.forget()  # another process: the same, from the control plane
    assert placement.runtime_password("DB.acme.example:5432".lower()) == first
    with owner_engine().connect() as conn:
        tokens = conn.execute(sa.text("SELECT name, token FROM control.platform_secrets ORDER BY name")).all()
    assert [n for n, _ in tokens] == [
        "tenant_runtime_password:10.0.0.7:5432",
        "tenant_runtime_password:db.acme.example:5432",
    ]
    assert all(first not in t and second not in t for _, t in tokens)  # encrypted


def test_key_rotation_reaches_the_tenant_database(db, secret_key, tenant_pg_server, monkeypatch):
    from cryptography.fernet import Fernet

    from ga_intel import crypto, netguard
    from ga_intel.webhooks import endpoints

    monkeypatch.setenv(netguard.ENV_VAR, "127.0.0.1/32")
    add_tenant("own", tenant_pg_server(fresh_db()))
    endpoints.add("own", "http://127.0.0.1:9/hook", ("task.created",))
    new = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.ENV_VAR, f"{new},{secret_key}")
    crypto.reset_keyring()
    # tenant settings (bigquery, postgres, smtp), the server's login password, the webhook secret
    assert store.rotate_keys() == 5
    monkeypatch.setenv(crypto.ENV_VAR, new)  # the old key is gone
    crypto.reset_keyring()
    placement.forget()
    with tenant_scope("own") as conn:  # the login's password decrypts under the new key
        token = conn.execute(sa.text("SELECT secret FROM tenant_data.webhook_endpoints")).scalar()
    assert crypto.keyring().decrypt(token)["secret"].startswith("whsec_")


def test_a_load_analyzes_its_tables_where_the_tenant_is(db, secret_key, tenant_pg_server):
    # ANALYZE needs the owner; the runtime logins own nothing (it used to be skipped with
    # a notice): tenant_data.analyze_table runs it for them, in the tenant's database.
    from ga_intel.db.bulk import refresh_statistics

    add_tenant("own", tenant_pg_server(fresh_db()))
    add_tenant("plat", None)
    for tenant_id in ("own", "plat"):
        with tenant_scope(tenant_id) as conn:
            for n in range(50):
                conn.execute(
                    sa.text(
                        "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                        "VALUES (:t, 'CHI', :e, 'Rep')"
                    ),
                    {"t": tenant_id, "e": f"rep{n}@x.example"},
                )
        assert refresh_statistics(tenant_id, {"sales_reps": 50, "users": 0}) == ["sales_reps"]
        with tenant_scope(tenant_id) as conn:
            analyzed = conn.execute(
                sa.text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'sales_reps'")
            ).scalar()
            assert analyzed is not None, tenant_id
            with pytest.raises(sa.exc.DBAPIError, match="not a tenant table"):
                conn.execute(sa.text("SELECT tenant_data.analyze_table('tenants')"))
