"""ANALYZE for the runtime login (refresh_statistics after a load).

A load ANALYZEs the tenant tables it changed, so the same run's metrics and tasks are not
planned on empty-table estimates. ANALYZE needs the table's owner (or MAINTAIN, PostgreSQL
17+), and since the runtime login (0013) owns nothing, the statement was skipped with a
notice nobody saw. This function runs it as the owner, for tables of `tenant_data` only,
and is all `ga_intel_app` may call; every database that holds tenant data has it.

Revision ID: 0016
Revises: 0015
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION tenant_data.analyze_table(name text) RETURNS void
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $fn$
        BEGIN
            IF NOT EXISTS (
                SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'tenant_data' AND c.relname = name AND c.relkind IN ('r', 'p')
            ) THEN
                RAISE EXCEPTION 'not a tenant table: %', name;
            END IF;
            EXECUTE format('ANALYZE tenant_data.%I', name);
        END
        $fn$""")
    op.execute("REVOKE ALL ON FUNCTION tenant_data.analyze_table(text) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION tenant_data.analyze_table(text) TO ga_intel_app")


def downgrade() -> None:
    op.execute("DROP FUNCTION tenant_data.analyze_table(text)")
