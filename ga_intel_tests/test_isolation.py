"""Tenant isolation holds in the database, for every tenant table there is.

The tables are read from the catalog, so a table added to `tenant_data` later without
row-level security (or without a way to build a sample row) fails this suite.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ga_intel.db import control, tenant_scope
from ga_intel.db.rls import POLICY_NAME, TENANT_SCHEMA
from ga_intel.tenancy.store import tenant_tables
from ga_intel_tests.helpers.rows import insert, sample_row


def tables() -> list[str]:
    with control() as conn:
        return tenant_tables(conn)


@pytest.fixture(scope="module")
def all_tables(platform_db):
    found = tables()
    assert "sales_reps" in found
    return found


def test_every_tenant_table_forces_its_policy(db, all_tables):
    with control() as conn:
        for table in all_tables:
            rls, forced = conn.execute(
                sa.text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = to_regclass(:q)"),
                {"q": f"{TENANT_SCHEMA}.{table}"},
            ).one()
            assert rls and forced, f"{table}: row-level security not enabled and forced"
            policies = conn.execute(
                sa.text(
                    "SELECT policyname, qual, with_check, cmd FROM pg_policies WHERE schemaname = :s AND tablename = :t"
                ),
                {"s": TENANT_SCHEMA, "t": table},
            ).all()
            assert [p.policyname for p in policies] == [POLICY_NAME], (
                f"{table}: expected exactly the {POLICY_NAME} policy"
            )
            p = policies[0]
            assert p.cmd == "ALL"
            for clause in (p.qual, p.with_check):
                assert "tenant_id = current_setting('app.tenant_id'" in clause, f"{table}: policy is {clause}"
        app = conn.execute(
            sa.text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = 'ga_intel_app'")
        ).one()
        assert app == (False, False, False)


def test_a_tenant_cannot_read_or_write_another_tenants_rows(db, all_tables):
    for table in all_tables:
        for t in ("tenant_a", "tenant_b"):
            with tenant_scope(t) as conn:
                # Roll-ups kept by triggers (migration 0008) already hold rows derived from
                # an earlier table's samples: start this table from its own sample alone.
                conn.execute(sa.text(f'DELETE FROM {TENANT_SCHEMA}."{table}"'))
                insert(conn, table, sample_row(conn, table, t))
        with tenant_scope("tenant_a") as conn:
            seen = conn.execute(sa.text(f'SELECT tenant_id FROM {TENANT_SCHEMA}."{table}"')).scalars().all()
            assert seen == ["tenant_a"], f"{table}: tenant_a sees {seen}"
            assert (
                conn.execute(
                    sa.text(
                        f"UPDATE {TENANT_SCHEMA}.\"{table}\" SET tenant_id = tenant_id WHERE tenant_id = 'tenant_b'"
                    )
                ).rowcount
                == 0
            )
            assert (
                conn.execute(sa.text(f"DELETE FROM {TENANT_SCHEMA}.\"{table}\" WHERE tenant_id = 'tenant_b'")).rowcount
                == 0
            )
        # Writing a row for another tenant, or moving one over, is refused.
        for statement in ("insert", "move"):
            with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
                with tenant_scope("tenant_a") as conn:
                    if statement == "insert":
                        insert(conn, table, sample_row(conn, table, "tenant_b"))
                    else:
                        conn.execute(sa.text(f"UPDATE {TENANT_SCHEMA}.\"{table}\" SET tenant_id = 'tenant_b'"))
        with tenant_scope("tenant_b") as conn:
            assert conn.execute(sa.text(f'SELECT count(*) FROM {TENANT_SCHEMA}."{table}"')).scalar() == 1, table


def test_no_tenant_set_sees_nothing(db, all_tables):
    with tenant_scope("tenant_a") as conn:
        insert(conn, "sales_reps", sample_row(conn, "sales_reps", "tenant_a"))
    with control() as conn:
        conn.execute(sa.text("SET LOCAL ROLE ga_intel_app"))
        for table in all_tables:
            assert conn.execute(sa.text(f'SELECT count(*) FROM {TENANT_SCHEMA}."{table}"')).scalar() == 0


def test_app_role_cannot_read_the_control_plane(db):
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
        with tenant_scope("tenant_a") as conn:
            conn.execute(sa.text("SELECT * FROM control.tenant_settings"))


def test_tenant_setting_does_not_leak_to_the_next_transaction(db):
    with tenant_scope("tenant_a") as conn:
        conn.execute(sa.text("SELECT 1"))
    with control() as conn:
        assert conn.execute(sa.text("SELECT current_setting('app.tenant_id', true)")).scalar() in (None, "")
        assert conn.execute(sa.text("SELECT current_user")).scalar() != "ga_intel_app"
