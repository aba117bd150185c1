"""Serialize the roll-up triggers of migration 0008 per tenant.

Two transactions writing the same tenant's tasks or search terms (two day runs of one
tenant run at once, a status change during a run) update shared roll-up rows, one
statement at a time, in an order no statement controls: they could deadlock. A BEFORE
STATEMENT trigger on both source tables takes a transaction-level advisory lock on the
tenant (`app.tenant_id`, set by every writer's tenant scope) before any row is touched,
so the second writer waits for the first to commit instead.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SOURCES = ("tasks", "search_terms_daily")


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION tenant_data.rollups_lock_tenant() RETURNS trigger
        LANGUAGE plpgsql AS $fn$
        BEGIN
            PERFORM pg_advisory_xact_lock(hashtextextended(
                'ga_intel.rollups:' || coalesce(current_setting('app.tenant_id', true), ''), 0));
            RETURN NULL;
        END
        $fn$""")
    for table in SOURCES:
        op.execute(f"""
            CREATE TRIGGER rollups_lock_tenant BEFORE INSERT OR UPDATE OR DELETE ON tenant_data.{table}
            FOR EACH STATEMENT EXECUTE FUNCTION tenant_data.rollups_lock_tenant()""")


def downgrade() -> None:
    for table in SOURCES:
        op.execute(f"DROP TRIGGER rollups_lock_tenant ON tenant_data.{table}")
    op.execute("DROP FUNCTION tenant_data.rollups_lock_tenant()")
