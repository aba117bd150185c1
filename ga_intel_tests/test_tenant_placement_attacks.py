"""A hostile review of tenant data placement (issue 19): each finding as the test that
holds it fixed. Names start with `test_finding_` and say what must hold. Two are known
limits, documented in docs/DEPLOYMENT.md and marked xfail(strict) so that fixing them
shows up.

Real servers throughout: the platform PostgreSQL and the second embedded one
(`tenant_pg_server`) where tenants keep their own databases.
"""

from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import sqlalchemy as sa

from ga_intel import ports
from ga_intel.db import control, migrate, placement, tenant_scope
from ga_intel.errors import GaIntelError
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.placement import downgrade_one, fresh_db


def add_tenant(tenant_id: str, pg: dict | None):
    data = tenant_data(tenant_id)
    if pg is not None:
        data["postgres"] = pg
    config = tenant_file.validate(data, "test")
    store.add(config)
    return config


def take_database_down(tenant_id: str) -> None:
    """The tenant's server stops answering (or its admin shut it down): simulated by
    pointing the stored placement at a port nothing listens on, behind ga-intel's back."""
    with control() as conn:
        conn.execute(
            sa.text(
                "UPDATE control.tenant_settings SET config = jsonb_set(config, '{port}', to_jsonb(CAST(:p AS int))) "
                "WHERE tenant_id = :t AND section = 'postgres'"
            ),
            {"p": ports.free_port(), "t": tenant_id},
        )


def runtime_connections(server_url: sa.engine.URL) -> int:
    eng = sa.create_engine(server_url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        n = conn.execute(
            sa.text("SELECT count(*) FROM pg_stat_activity WHERE usename = :u"), {"u": placement.TENANT_RUNTIME_ROLE}
        ).scalar()
    eng.dispose()
    return n


# --- finding 1: the engine cache leaks pools past 8 tenant databases ----------------------


def test_finding_engines_are_reused_with_more_than_eight_tenant_databases(db, secret_key, tenant_pg_server):
    """`_engine_for` is an lru_cache(maxsize=8) whose evicted engines stay referenced by
    `_ENGINES` and are never disposed: with more tenant databases than 8 minus the
    platform's engines, every pass over the tenants (a sensor tick, the webhook loop)
    builds new engines and keeps one more idle connection per database open, until the
    tenant servers (and this process's file descriptors) run out."""
    import importlib

    engine_mod = importlib.import_module("ga_intel.db.engine")  # `ga_intel.db.engine` is also a function

    tenants = [f"leak-tenant-{i}" for i in range(9)]
    for tenant_id in tenants:
        add_tenant(tenant_id, tenant_pg_server(fresh_db()))
    engine_mod.dispose_all()
    for _ in range(4):
        for tenant_id in tenants:
            with tenant_scope(tenant_id) as conn:
                conn.execute(sa.text("SELECT 1"))
    open_now = runtime_connections(tenant_pg_server.url)
    engines = len(engine_mod._ENGINES)
    engine_mod.dispose_all()
    # One engine per database (+ the platform's); an idle pooled connection each.
    found = f"{engines} engines built and {open_now} connections left open for {len(tenants)} tenant databases"
    assert engines <= len(tenants) + 3 and open_now <= len(tenants), found


# --- finding 2: one tenant database down stops other tenants' email and webhooks -----------

CHICAGO = ZoneInfo("America/Chicago")
AT = dt.datetime(2024, 6, 4, 7, 0, tzinfo=CHICAGO)  # the default send hour


def test_finding_one_tenant_database_down_does_not_stop_the_email_schedule_for_others(db, secret_key, tenant_pg_server):
    from ga_intel.email.automation import email_daily_schedule

    add_tenant("alpha", None)
    add_tenant("down", tenant_pg_server(fresh_db()))
    add_tenant("omega", None)
    take_database_down("down")
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["alpha", "down", "omega"])
        try:
            email = email_daily_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=AT))
        except GaIntelError as exc:
            pytest.fail(f"the whole tick failed on one tenant's database: {exc.message}")
    assert {r.partition_key.keys_by_dimension["tenant"] for r in email} == {"alpha", "omega"}


def test_finding_one_tenant_database_down_does_not_stop_webhooks_of_others(
    db, secret_key, tenant_pg_server, monkeypatch
):
    from ga_intel import netguard
    from ga_intel.webhooks import deliver, endpoints

    monkeypatch.setenv(netguard.ENV_VAR, "127.0.0.1/32")
    add_tenant("aaa-down", tenant_pg_server(fresh_db()))
    add_tenant("zzz", None)
    endpoints.add("zzz", f"http://127.0.0.1:{ports.free_port()}/hook", ("task.created",))
    with tenant_scope("zzz") as conn:
        endpoint_id = conn.execute(sa.text("SELECT endpoint_id FROM tenant_data.webhook_endpoints")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO tenant_data.webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, payload) "
                "VALUES ('zzz', :e, gen_random_uuid(), 'task.created', '{}'::jsonb)"
            ),
            {"e": endpoint_id},
        )
    take_database_down("aaa-down")
    try:
        outcome = deliver.dispatch()
    except GaIntelError as exc:
        pytest.fail(f"the dispatcher pass stopped at another tenant's database: {exc.message}")
    assert sum(outcome.values()) == 1  # zzz's delivery was attempted (it fails: nothing listens)


# --- finding 3: `db upgrade` stops at the first tenant database that fails -----------------


def test_finding_a_tenant_admin_cannot_keep_other_tenant_databases_behind(db, secret_key, tenant_pg_server):
    """A tenant admin could change the postgres login on the Settings page, and a login
    the server refuses (or its own server shut down) made `db upgrade` stop there, every
    tenant database after it left behind and refused. The section is the operator's
    now, and `db upgrade` migrates the others before it reports the failure."""
    add_tenant("aaa-hostile", tenant_pg_server(fresh_db()))
    victim = add_tenant("zzz-victim", tenant_pg_server(fresh_db()))
    stored = store.get("aaa-hostile").postgres
    with pytest.raises(GaIntelError, match="set by the platform operator"):
        store.update_section(
            "aaa-hostile",
            "postgres",
            {**tenant_pg_server(stored.database), "username": "no_such_login", "password": "x"},
        )
    take_database_down("aaa-hostile")  # what it can still do: shut its own server down
    loc = placement.location_from_section(victim.postgres)
    downgrade_one(loc)  # a new ga-intel release: the victim's database is one behind
    placement.forget()
    with pytest.raises(GaIntelError, match="1 of 2 tenant database"):
        migrate.upgrade_tenant_databases()
    placement.forget()
    with tenant_scope("zzz-victim") as conn:  # migrated all the same
        conn.execute(sa.text("SELECT 1"))


# --- finding 4: one tenant database blocks key rotation for everyone ----------------------


def test_finding_one_tenant_database_cannot_keep_an_old_key_in_use(db, secret_key, tenant_pg_server, monkeypatch):
    """`_rotate_tenant_databases` stops at the first tenant whose database fails (down,
    or a token its owner planted in its own webhook_endpoints): tenants after it keep
    secrets under the old key, so a leaked key can never be retired while one tenant
    (whose admin owns its database's tables) says no."""
    from cryptography.fernet import Fernet

    from ga_intel import crypto, netguard
    from ga_intel.errors import SecretKeyError
    from ga_intel.webhooks import endpoints

    monkeypatch.setenv(netguard.ENV_VAR, "127.0.0.1/32")
    hostile_db = fresh_db()
    add_tenant("aaa-hostile", tenant_pg_server(hostile_db))
    add_tenant("zzz-victim", tenant_pg_server(fresh_db()))
    endpoints.add("aaa-hostile", "http://127.0.0.1:9/hook", ("task.created",))
    endpoints.add("zzz-victim", "http://127.0.0.1:9/hook", ("task.created",))
    # The hostile tenant owns the tables in its database: it plants a token no key opens.
    eng = sa.create_engine(tenant_pg_server.url.set(database=hostile_db), poolclass=sa.pool.NullPool)
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE tenant_data.webhook_endpoints SET secret = 'gAAAAAB' || repeat('A', 80)"))
    eng.dispose()

    old = secret_key
    new = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.ENV_VAR, f"{new},{old}")
    crypto.reset_keyring()
    with pytest.raises(SecretKeyError):
        store.rotate_keys()  # the hostile tenant's own secret cannot be rotated: fair
    # ...but the victim's secret must be under the new key all the same.
    monkeypatch.setenv(crypto.ENV_VAR, new)
    crypto.reset_keyring()
    placement.forget()
    with tenant_scope("zzz-victim") as conn:
        token = conn.execute(sa.text("SELECT secret FROM tenant_data.webhook_endpoints")).scalar()
    crypto.keyring().decrypt(token, "the victim's webhook secret")


# --- finding 5: two spellings of one server clobber the runtime login's password -----------


def _scram_opens(verifier: str, password: str) -> bool:
    """Whether `password` matches a PostgreSQL SCRAM-SHA-256 verifier (pg_authid)."""
    import base64
    import hashlib
    import hmac

    _, rest = verifier.split("$", 1)
    params, keys = rest.split("$")
    iterations, salt = params.split(":")
    stored_key, _server_key = keys.split(":")
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(iterations))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    return hashlib.sha256(client_key).digest() == base64.b64decode(stored_key)


@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs/DEPLOYMENT.md): the tenant-database login's password is kept per server as "
    "spelled in the tenant files; name each server one way",
)
def test_finding_a_second_spelling_of_a_server_does_not_lock_out_its_tenants(db, secret_key, tenant_pg_server):
    """The runtime password is keyed by the host *as written* (`server_key`), but the role
    is cluster-wide: a tenant added with `localhost` where others say `127.0.0.1` (or a
    DNS name and its IP, or a trailing dot) gets a second password, and `tenant add` sets
    it on the server, so every tenant already there fails to log in from then on (the
    embedded test server trusts loopback, so this reads the role's verifier directly)."""
    first = tenant_pg_server(fresh_db())
    add_tenant("first", first)
    add_tenant("second", {**tenant_pg_server(fresh_db()), "host": "localhost"})
    first_password = placement.location("first").runtime_url.password
    eng = sa.create_engine(tenant_pg_server.url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        verifier = conn.execute(
            sa.text("SELECT rolpassword FROM pg_authid WHERE rolname = :r"), {"r": placement.TENANT_RUNTIME_ROLE}
        ).scalar()
    eng.dispose()
    assert verifier.startswith("SCRAM-SHA-256$")
    assert _scram_opens(verifier, placement.location("second").runtime_url.password)  # the check itself works
    assert _scram_opens(verifier, first_password), "tenant 'first' can no longer log in to its database"


# --- finding 6: a second owner login on a shared server cannot migrate its database -------


@pytest.mark.xfail(
    strict=True,
    reason="known limit (docs/DEPLOYMENT.md): every tenant database on one server uses the same owner login, "
    "the one that created ga-intel's roles there",
)
def test_finding_two_owner_logins_can_share_a_tenant_server(db, secret_key, tenant_pg_server):
    """TENANT_FILE.md: the login needs CREATEDB and CREATEROLE "as an Azure or RDS admin
    login has". On PostgreSQL 16+ a CREATEROLE login may only grant or alter roles it
    has ADMIN on, i.e. that it created: the second owner login on a server cannot
    `GRANT ga_intel_app` nor set `ga_intel_tenant_runtime`'s password, so a deployment
    spreading tenants with a login each over one server cannot add the second. (On
    PostgreSQL < 16 it can, and then any such login can also set that password or grant
    itself ga_intel_app and read every tenant database on the server: see the report.)"""
    add_tenant("first", tenant_pg_server(fresh_db()))  # the fixture's login created the roles
    other, password = f"owner_{uuid.uuid4().hex[:6]}", "other-owner-pw"
    eng = sa.create_engine(tenant_pg_server.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {other} LOGIN CREATEDB CREATEROLE PASSWORD '{password}'"))
    eng.dispose()
    add_tenant("second", {**tenant_pg_server(fresh_db()), "username": other, "password": password})
    with tenant_scope("second") as conn:
        conn.execute(sa.text("SELECT 1"))


# --- finding 7: the runtime password in an upgrade error ----------------------------------


def test_finding_the_runtime_password_never_appears_in_an_upgrade_error(db, secret_key, tenant_pg_server):
    """`upgrade_location` sets the password with the literal in the statement and turns
    only OperationalError and ProgrammingError into a clean message. Two processes
    setting it at once (`tenant add` from the dashboard while `db upgrade` runs) fail
    with "tuple concurrently updated", an InternalError: it escapes with SQLAlchemy's
    "[SQL: ALTER ROLE ga_intel_tenant_runtime PASSWORD '...']", into the CLI's output,
    the dashboard or the logs. (The server's own log gets the statement too when it
    logs DDL or failed statements.)"""
    import threading
    import time
    import traceback

    add_tenant("own", tenant_pg_server(fresh_db()))
    loc = placement.location("own")
    password = loc.runtime_url.password
    other = sa.create_engine(tenant_pg_server.url, poolclass=sa.pool.NullPool)
    holder = other.connect()
    holder.begin()
    holder.execute(sa.text(f"ALTER ROLE {placement.TENANT_RUNTIME_ROLE} VALID UNTIL 'infinity'"))
    caught: list[BaseException] = []

    def upgrade():
        try:
            migrate.upgrade_location(loc)
        except BaseException as exc:  # noqa: BLE001 - the test looks at whatever came out
            caught.append(exc)

    worker = threading.Thread(target=upgrade)
    worker.start()
    with other.connect() as watch:
        for _ in range(100):  # until the upgrade waits on the role's row
            waiting = watch.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER ROLE%'"
                )
            ).scalar()
            if waiting:
                break
            time.sleep(0.1)
    holder.commit()
    holder.close()
    worker.join(60)
    other.dispose()
    assert caught, "the concurrent ALTER ROLE did not fail (the point is what its error carries)"
    text = "".join(traceback.format_exception(caught[0]))
    assert password not in text, f"the runtime password is in the error: {type(caught[0]).__name__}"


# --- finding 8: the owner login's connections skip the network guard ---------------------


def test_finding_tenant_add_and_db_upgrade_check_the_host_against_the_allowed_networks(
    db, secret_key, tenant_pg_server, monkeypatch
):
    """SECURITY.md §5: "the host still goes through the network guard (§4) at every
    first connection". The runtime engine does (`engine_for`), but `upgrade_location`
    and `ensure_database` (`tenant add`, `db upgrade`, and the setup wizard to come)
    connect as the tenant file's login to whatever the section names: loopback, the
    platform's own server, a link-local or private address, and with the database name
    spliced into `CREATE DATABASE "{name}"`."""
    from ga_intel.connectors import targets

    monkeypatch.setenv(targets.ALLOWED_VAR, "10.255.0.0/16")  # loopback is not allowed here
    with pytest.raises(GaIntelError, match="127.0.0.1"):
        add_tenant("inside", tenant_pg_server(fresh_db()))


# --- finding 9: a stale cached placement is never re-read when the old database is gone ---


def test_finding_a_process_follows_a_moved_tenant_even_when_its_old_database_is_gone(db, secret_key, tenant_pg_server):
    """`placement.begin` re-reads the control plane only after it has connected to the
    cached location. Once another process has moved the tenant (`tenant move`) and the
    operator has dropped the old database or retired the old server (the reason for the
    move), every long-running process that had cached the old place (dashboard, API,
    Dagster code server) fails that tenant's every transaction until it restarts."""
    old_db = fresh_db()
    add_tenant("moved", tenant_pg_server(old_db))
    with tenant_scope("moved") as conn:  # this process now caches the old place
        conn.execute(sa.text("SELECT 1"))
    # Another process moved the tenant to the platform database; the old one is dropped.
    with control() as conn:
        conn.execute(sa.text("DELETE FROM control.tenant_settings WHERE tenant_id = 'moved' AND section = 'postgres'"))
    eng = sa.create_engine(tenant_pg_server.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE "{old_db}" WITH (FORCE)'))
    eng.dispose()
    with tenant_scope("moved") as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.tasks")).scalar() == 0


# --- finding 10: a tenant admin chooses the TLS of the server's shared login ---------------


def test_finding_a_tenant_admin_cannot_lower_the_tls_of_the_shared_runtime_login(db, secret_key, tenant_pg_server):
    """The runtime login's password is one per server, shared by every tenant database
    there, and it is sent under the `sslmode` of whichever tenant's section is in use.
    The Settings page lets a tenant admin set `sslmode: disable` (it only asks for the
    owner password again, which it may invent): from then on ga-intel logs in to the
    operator's shared server without TLS, and libpq answers a cleartext-password request
    (an active attacker on the path) with the password that opens every tenant
    database on that server. (Stored as `require` behind ga-intel's back here: the test
    server has no TLS.)"""
    add_tenant("tls", tenant_pg_server(fresh_db()))
    with control() as conn:
        conn.execute(
            sa.text(
                "UPDATE control.tenant_settings SET config = jsonb_set(config, '{sslmode}', '\"require\"') "
                "WHERE tenant_id = 'tls' AND section = 'postgres'"
            )
        )
    stored = store.get("tls").postgres
    try:
        store.update_section(
            "tls", "postgres", {**tenant_pg_server(stored.database), "sslmode": "disable", "password": "invented"}
        )
    except GaIntelError:
        return  # refused: fixed (or the runtime URL pins require_auth=scram-sha-256, see the report)
    runtime = placement.location("tls").runtime_url
    assert runtime.query.get("require_auth") == "scram-sha-256", (
        f"the shared runtime password now goes with sslmode={runtime.query['sslmode']} and no require_auth"
    )
