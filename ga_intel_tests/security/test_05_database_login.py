"""Finding 5: the login the dashboard and runs use must not be able to step around RLS.

Against the suite's real PostgreSQL, as the runtime login everything but migrations uses:
- inside `tenant_scope`, `RESET ROLE` and then reading (or writing) another tenant's rows
  fails: the login itself holds no privilege on tenant data;
- the login is not a superuser, has no BYPASSRLS, owns no table, belongs to no role but
  `ga_intel_app`;
- a runtime URL pointing at the owner is refused when the engine starts and by `health`.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ga_intel import health, settings
from ga_intel.db import control, tenant_scope
from ga_intel.db.engine import UnsafeRuntimeLogin, dispose_all, engine


@pytest.fixture
def two_tenants(db):
    from ga_intel_tests.helpers.rows import insert, sample_row

    for t in ("tenant_a", "tenant_b"):
        with tenant_scope(t) as conn:
            insert(conn, "sales_reps", {**sample_row(conn, "sales_reps", t), "rep_email": f"secret-rep-of-{t}"})


def test_reset_role_inside_tenant_scope_reads_no_other_tenant(two_tenants):
    with tenant_scope("tenant_a") as conn:
        assert conn.execute(sa.text("SELECT rep_email FROM tenant_data.sales_reps")).scalars().all() == [
            "secret-rep-of-tenant_a"
        ]
    for attack in (
        "SELECT rep_email FROM tenant_data.sales_reps WHERE tenant_id = 'tenant_b'",
        "DELETE FROM tenant_data.sales_reps WHERE tenant_id = 'tenant_b'",
        "TRUNCATE tenant_data.sales_reps",
        "ALTER TABLE tenant_data.sales_reps DISABLE ROW LEVEL SECURITY",
    ):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied|must be owner"):
            with tenant_scope("tenant_a") as conn:
                conn.execute(sa.text("RESET ROLE"))
                assert conn.execute(sa.text("SELECT current_user")).scalar() == "ga_intel_runtime"
                conn.execute(sa.text(attack))
    # Nothing was read or removed: tenant_b's row is still there, as tenant_b sees it.
    with tenant_scope("tenant_b") as conn:
        assert conn.execute(sa.text("SELECT rep_email FROM tenant_data.sales_reps")).scalars().all() == [
            "secret-rep-of-tenant_b"
        ]


def test_the_runtime_login_cannot_bypass_rls_nor_own_tables(db):
    with control() as conn:
        me = conn.execute(
            sa.text(
                "SELECT current_user, rolsuper, rolbypassrls, rolinherit FROM pg_roles WHERE rolname = current_user"
            )
        ).one()
        assert tuple(me) == ("ga_intel_runtime", False, False, False)
        assert (
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname IN ('control', 'tenant_data') AND pg_has_role(current_user, c.relowner, 'MEMBER')"
                )
            ).scalar()
            == 0
        )
        roles = (
            conn.execute(
                sa.text("SELECT rolname FROM pg_roles WHERE pg_has_role(current_user, oid, 'MEMBER') ORDER BY 1")
            )
            .scalars()
            .all()
        )
        assert roles == ["ga_intel_app", "ga_intel_runtime"]
        # It may not make itself more either.
        for escalate in ("ALTER ROLE ga_intel_runtime BYPASSRLS", "SET ROLE postgres"):
            with pytest.raises(sa.exc.ProgrammingError):
                with engine().begin() as c2:
                    c2.execute(sa.text(escalate))


def test_a_runtime_url_pointing_at_the_owner_is_refused_at_start(db, monkeypatch):
    owner = settings.database_urls().platform.render_as_string(hide_password=False)
    monkeypatch.setenv(settings.RUNTIME_DATABASE_URL, owner)
    dispose_all()
    try:
        with pytest.raises(UnsafeRuntimeLogin, match="refuses to start") as err:
            engine()
        assert "GA_INTEL_RUNTIME_DATABASE_URL" in err.value.hint
        result = health.check_platform_db()
        assert not result.ok and "refuses to start" in result.detail
    finally:
        monkeypatch.delenv(settings.RUNTIME_DATABASE_URL)
        dispose_all()
    assert health.check_platform_db().ok
