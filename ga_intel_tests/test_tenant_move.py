"""`ga-intel tenant move` (issue 19) between the platform database and a second real
PostgreSQL server (`tenant_pg_server`): every row arrives, nothing stays behind, and a
move killed at any step (`kill -9`, by the GA_INTEL_MOVE_CRASH_AT test hook) loses
nothing and finishes with `--resume`.

Rows are compared in full (each row's text, sorted), read as each server's administrator
behind ga-intel's back, not just counted.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import pytest
import sqlalchemy as sa
import yaml
from click.testing import CliRunner

from ga_intel.cli import main
from ga_intel.db import control, placement, tenant_scope
from ga_intel.db.engine import owner_engine
from ga_intel.db.placement import TenantMoving
from ga_intel.errors import GaIntelError
from ga_intel.insights import tasks as task_logic
from ga_intel.tenancy import move, store, tenant_file
from ga_intel.tenancy.store import tenant_tables
from ga_intel_tests.conftest import SMTP_PASSWORD, tenant_data
from ga_intel_tests.helpers.placement import fresh_db
from ga_intel_tests.helpers.rows import insert, sample_row
from ga_intel_tests.servers.fixtures import TENANT_DB_PASSWORD

GA = [os.path.join(os.path.dirname(os.sys.executable), "ga-intel")]
SECRETS = (TENANT_DB_PASSWORD, SMTP_PASSWORD)


def all_tables() -> list[str]:
    with control() as conn:
        return tenant_tables(conn)


def rows(url: sa.engine.URL, tenant_id: str) -> dict[str, list[str]]:
    """table -> the tenant's rows as text, sorted; as the server's administrator."""
    eng = sa.create_engine(url, poolclass=sa.pool.NullPool)
    out = {}
    with eng.connect() as conn:
        conn.execute(sa.text("SET row_security = off"))
        conn.execute(sa.text("SET TimeZone = 'UTC'"))
        if conn.execute(sa.text("SELECT to_regclass('tenant_data.tasks') IS NULL")).scalar():
            return {}  # a database the move never migrated
        for table in all_tables():
            out[table] = sorted(
                conn.execute(
                    sa.text(f'SELECT t::text FROM tenant_data."{table}" t WHERE tenant_id = :t'), {"t": tenant_id}
                ).scalars()
            )
    eng.dispose()
    return out


def platform(tenant_id: str) -> dict[str, list[str]]:
    return rows(owner_engine().url, tenant_id)


def nothing(snapshot: dict[str, list[str]]) -> bool:
    return all(not r for r in snapshot.values())


def fill(tenant_id: str) -> None:
    """A row in every tenant table (a roll-up a trigger already filled keeps its row), a
    webhook endpoint first so task changes enqueue deliveries, and a person's status."""
    tables = all_tables()
    order = ["webhook_endpoints"] + [t for t in tables if t != "webhook_endpoints"]
    with tenant_scope(tenant_id) as conn:
        for table in order:
            with conn.begin_nested():
                if not conn.execute(sa.text(f'SELECT count(*) FROM tenant_data."{table}"')).scalar():
                    insert(conn, table, sample_row(conn, table, tenant_id))
        key = conn.execute(sa.text("SELECT task_key FROM tenant_data.tasks LIMIT 1")).scalar()
    with tenant_scope(tenant_id) as conn:
        task_logic.set_status(conn, tenant_id, key, "in_progress", by="kara@shop.example", note="called")


def target_file(tmp_path, pg: dict) -> str:
    path = tmp_path / f"target-{uuid.uuid4().hex[:6]}.yaml"
    path.write_text(yaml.safe_dump({"postgres": pg}))
    return str(path)


def cli(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    for secret in SECRETS:
        assert secret not in result.output
    return result


def journal(tenant_id: str):
    with owner_engine().connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT state, target_config::text AS config, target_secrets, copied FROM control.tenant_moves "
                "WHERE tenant_id = :t"
            ),
            {"t": tenant_id},
        ).first()


def test_a_realistic_tenant_moves_to_its_own_server_and_back_unchanged(db, secret_key, tenant_pg_server, tmp_path):
    from ga_intel_tests.helpers.shop import D1, Shop

    shop = Shop("shop")
    shop.purchase(D1, 15, 1250.0, "T-100", customer="u1")
    shop.search(D1, 10, "copper pipe", customer="u2", no_results=True)
    shop.cart(D1, 9, 300.0, customer="u3")
    shop.available(D1)
    shop.run(D1)
    fill("shop")
    tasks_before = shop.tasks()
    assert "purchase:T-100" in tasks_before
    before = platform("shop")
    assert all(before[t] for t in before), [t for t in before if not before[t]]  # every table has rows

    database = fresh_db()
    there_url = tenant_pg_server.url.set(database=database)
    out = cli("tenant", "move", "shop", "--to-postgres", target_file(tmp_path, tenant_pg_server(database)))
    assert out.exit_code == 0, out.output
    assert "journaled" in out.output and "switched" in out.output and "tasks:" in out.output
    assert f"to tenant database 127.0.0.1:{tenant_pg_server.url.port}/{database}" in out.output
    assert rows(there_url, "shop") == before
    assert nothing(platform("shop"))
    assert journal("shop") is None
    assert placement.location("shop").label.endswith(database)
    assert shop.tasks() == tasks_before  # usable, statuses as people set them
    with tenant_scope("shop") as conn:
        assert conn.execute(sa.text("SELECT session_user")).scalar() == "ga_intel_tenant_runtime"
    shop.run(D1)  # the pipeline runs where the tenant now is
    after_run = rows(there_url, "shop")
    assert after_run["tasks"] == before["tasks"] and nothing(platform("shop"))

    out = cli("tenant", "move", "shop", "--to-platform")
    assert out.exit_code == 0, out.output
    assert platform("shop") == after_run
    assert nothing(rows(there_url, "shop"))
    assert placement.location("shop").is_platform and store.get("shop").postgres is None
    assert shop.tasks() == tasks_before


def test_a_move_is_refused_where_it_cannot_be(db, secret_key, tenant_pg_server, tmp_path):
    store.add(tenant_file.validate(tenant_data("stay"), "test"))
    out = cli("tenant", "move", "stay", "--to-platform")
    assert out.exit_code == 2 and "already in the platform database" in out.output
    out = cli("tenant", "move", "stay", "--resume")
    assert out.exit_code == 2 and "no unfinished move" in out.output and "--to-postgres FILE" in out.output
    out = cli("tenant", "move", "nobody", "--to-platform")
    assert out.exit_code == 2 and "no tenant 'nobody'" in out.output

    # Unreachable target: a clear error, the password nowhere, the tenant untouched.
    from ga_intel import ports

    gone = {**tenant_pg_server(fresh_db()), "port": ports.free_port()}
    out = cli("tenant", "move", "stay", "--to-postgres", target_file(tmp_path, gone))
    assert out.exit_code == 2 and f"127.0.0.1:{gone['port']}" in out.output
    assert journal("stay") is None
    with tenant_scope("stay"):
        pass

    # A bad FILE names the field.
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"postgres": {"host": "db.example", "database": "x", "prot": 1}}))
    out = cli("tenant", "move", "stay", "--to-postgres", str(bad))
    assert out.exit_code == 2 and "postgres.prot" in out.output and "postgres.username" in out.output

    # An unfinished move to one database refuses a move to another, and says how to finish.
    first = target_file(tmp_path, tenant_pg_server(fresh_db()))
    env = dict(os.environ, **{move.CRASH_ENV: "journaled"})
    died = subprocess.run(
        GA + ["tenant", "move", "stay", "--to-postgres", first], capture_output=True, text=True, env=env
    )
    assert died.returncode == 137, died.stderr
    out = cli("tenant", "move", "stay", "--to-postgres", target_file(tmp_path, tenant_pg_server(fresh_db())))
    assert out.exit_code == 2 and "unfinished move" in out.output and "tenant move stay --resume" in out.output
    out = cli("tenant", "move", "stay", "--to-platform")
    assert out.exit_code == 2 and "unfinished move" in out.output
    # ... and the journal keeps the target's password encrypted only.
    state, config, token, _copied = journal("stay")
    assert state == "copying" and TENANT_DB_PASSWORD not in config and TENANT_DB_PASSWORD not in token
    out = cli("tenant", "move", "stay", "--resume")
    assert out.exit_code == 0, out.output
    assert journal("stay") is None


def test_a_move_to_the_same_database_under_another_name_is_refused_and_loses_nothing(
    db, secret_key, tenant_pg_server, tmp_path
):
    # `localhost` for `127.0.0.1`: another label, the same database. The copy would have
    # replaced the rows with themselves and the delete of the "old" copy removed them all.
    database = fresh_db()
    pg = tenant_pg_server(database)
    there = tenant_pg_server.url.set(database=database)
    store.add(tenant_file.validate({**tenant_data("alias"), "postgres": pg}, "test"))
    fill("alias")
    before = rows(there, "alias")
    out = cli("tenant", "move", "alias", "--to-postgres", target_file(tmp_path, {**pg, "host": "localhost"}))
    assert out.exit_code == 2 and "another spelling of the same server and database" in out.output, out.output
    assert journal("alias") is None and rows(there, "alias") == before
    # The platform database by its address, for a tenant that is in it.
    from ga_intel import settings

    url = settings.database_urls().runtime
    store.add(tenant_file.validate(tenant_data("home"), "test"))
    fill("home")
    home_before = platform("home")
    same = {
        "host": "localhost",
        "port": url.port,
        "database": url.database,
        "username": "postgres",
        "sslmode": "disable",
    }
    out = cli("tenant", "move", "home", "--to-postgres", target_file(tmp_path, same))
    assert out.exit_code == 2 and "another spelling of the same server and database" in out.output, out.output
    assert journal("home") is None and platform("home") == home_before


CRASHES = [(point, "to-postgres") for point in move.CRASH_POINTS] + [
    (point, "to-platform") for point in ("copied-half", "switched", "deleted-half")
]


@pytest.mark.parametrize(("point", "direction"), CRASHES)
def test_a_move_killed_at_any_step_loses_nothing_and_resumes(
    db, secret_key, tenant_pg_server, tmp_path, point, direction
):
    database = fresh_db()
    there_url = tenant_pg_server.url.set(database=database)
    pg = tenant_pg_server(database)
    # A neighbour at the source (same database) that the move must not touch.
    for tenant_id in ("crash", "other"):
        data = tenant_data(tenant_id)
        if direction == "to-platform":
            data["postgres"] = pg
        store.add(tenant_file.validate(data, "test"))
        fill(tenant_id)
    if direction == "to-postgres":
        source, target = platform, (lambda tenant_id: rows(there_url, tenant_id))
        args, target_runtime = ["--to-postgres", target_file(tmp_path, pg)], "ga_intel_tenant_runtime"
    else:
        source, target = (lambda tenant_id: rows(there_url, tenant_id)), platform
        args, target_runtime = ["--to-platform"], "ga_intel_runtime"
    before, neighbour = source("crash"), source("other")
    assert all(before.values())

    env = dict(os.environ, **{move.CRASH_ENV: point})
    died = subprocess.run(GA + ["tenant", "move", "crash", *args], capture_output=True, text=True, env=env)
    assert died.returncode == 137, (died.stdout, died.stderr)
    placement.forget()
    state = journal("crash").state
    if point in ("journaled", "copied-half", "copied"):
        assert state == "copying"
        assert source("crash") == before  # the source is whole, and the tenant's, until the switch
        assert placement.location("crash").is_platform == (direction == "to-postgres")
        with pytest.raises(TenantMoving) as err:
            with tenant_scope("crash"):
                pass
        assert "tenant move crash --resume" in err.value.hint
        with pytest.raises(GaIntelError, match="being moved between databases; nothing was removed"):
            store.remove("crash")  # one of its two copies would stay behind
        if point == "copied":
            assert target("crash") == before  # committed there, not the tenant's yet
        else:
            assert nothing(target("crash"))
    else:
        assert state == "switched"
        assert target("crash") == before  # the target is whole from the switch on
        with tenant_scope("crash") as conn:  # and the tenant usable there
            assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.tasks")).scalar() == len(before["tasks"])
            assert conn.execute(sa.text("SELECT session_user")).scalar() == target_runtime
        if point == "deleted-half":
            assert source("crash") == before  # the half delete was one transaction: rolled back

    resumed = subprocess.run(GA + ["tenant", "move", "crash", "--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, (resumed.stdout, resumed.stderr)
    assert "resuming the move of tenant 'crash'" in resumed.stdout
    for out in (died.stdout, died.stderr, resumed.stdout, resumed.stderr):
        for secret in SECRETS:
            assert secret not in out
    placement.forget()
    assert target("crash") == before  # what an uninterrupted move gives
    assert nothing(source("crash"))
    assert journal("crash") is None
    assert source("other") == neighbour
    with tenant_scope("crash") as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.sales_reps")).scalar() == 1


def test_a_move_waits_for_a_writer_that_began_before_it_and_takes_its_rows(db, secret_key, tenant_pg_server):
    store.add(tenant_file.validate(tenant_data("busy"), "test"))
    fill("busy")
    writing, done = threading.Event(), threading.Event()

    def writer():
        with tenant_scope("busy") as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                    "VALUES ('busy', 'LATE', 'late@busy.example', 'Late')"
                )
            )
            writing.set()
            time.sleep(2)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert writing.wait(30)
    database = fresh_db()
    lines: list[str] = []
    started = time.monotonic()
    target = tenant_file.PostgresSettings.model_validate(tenant_pg_server(database))
    result = move.move("busy", target, progress=lines.append)
    thread.join()
    assert done.is_set() and time.monotonic() - started >= 1.5
    assert any("waiting for transactions" in line for line in lines)
    there = rows(tenant_pg_server.url.set(database=database), "busy")
    assert any("late@busy.example" in r for r in there["sales_reps"])
    assert result.copied["sales_reps"] == 2
    assert nothing(platform("busy"))


def test_an_unfinished_move_outlives_a_key_rotation(db, secret_key, tenant_pg_server, tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    from ga_intel import crypto

    store.add(tenant_file.validate(tenant_data("rot"), "test"))
    with tenant_scope("rot") as conn:  # no webhook endpoint: a sample's secret is no real token
        for table in ("sales_reps", "tasks", "users"):
            insert(conn, table, sample_row(conn, table, "rot"))
    before = platform("rot")
    database = fresh_db()
    file = target_file(tmp_path, tenant_pg_server(database))
    env = dict(os.environ, **{move.CRASH_ENV: "journaled"})
    died = subprocess.run(
        GA + ["tenant", "move", "rot", "--to-postgres", file], capture_output=True, text=True, env=env
    )
    assert died.returncode == 137, died.stderr
    old_token = journal("rot").target_secrets

    new = Fernet.generate_key().decode()
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", f"{new},{secret_key}")
    crypto.reset_keyring()
    store.rotate_keys()
    assert journal("rot").target_secrets != old_token
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", new)  # the old key is gone
    crypto.reset_keyring()
    placement.forget()

    out = cli("tenant", "move", "rot", "--resume")
    assert out.exit_code == 0, out.output
    assert rows(tenant_pg_server.url.set(database=database), "rot") == before
    assert nothing(platform("rot")) and journal("rot") is None


def test_a_failed_copy_keeps_nothing_and_the_source_whole(db, secret_key, tenant_pg_server, monkeypatch):
    """As if a new trigger-filled table were not known to the move: its roll-up rows clash
    on the target. The copy is refused as a whole; --resume after the fix finishes it."""
    store.add(tenant_file.validate(tenant_data("clash"), "test"))
    fill("clash")
    before = platform("clash")
    database = fresh_db()
    target = tenant_file.PostgresSettings.model_validate(tenant_pg_server(database))
    known = move.is_derived
    monkeypatch.setattr(move, "is_derived", lambda table: False)
    with pytest.raises(GaIntelError) as err:
        move.move("clash", target)
    assert "DERIVED" in err.value.hint and "tenant move clash --resume" in err.value.hint
    assert TENANT_DB_PASSWORD not in str(err.value)
    assert journal("clash").state == "copying"
    assert platform("clash") == before
    assert nothing(rows(tenant_pg_server.url.set(database=database), "clash"))
    monkeypatch.setattr(move, "is_derived", known)  # not undo(): that would undo secret_key's key too
    move.move("clash", resume=True)
    assert rows(tenant_pg_server.url.set(database=database), "clash") == before
    assert nothing(platform("clash")) and journal("clash") is None
