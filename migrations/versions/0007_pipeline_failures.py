"""Pipeline failures per tenant, and the alert emails sent about them.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE tenant_data.pipeline_failures (
            tenant_id     text NOT NULL,
            run_id        text NOT NULL,
            job_name      text NOT NULL,
            partition_key text,
            failure_type  text NOT NULL,   -- '<job>/<service or error class>', the alert's unit
            message       text NOT NULL,   -- the innermost error message, redacted
            failed_at     timestamptz NOT NULL,
            alert_date    date NOT NULL,   -- local day in the tenant's timezone
            PRIMARY KEY (tenant_id, run_id)
        )""")
    op.execute("CREATE INDEX pipeline_failures_recent ON tenant_data.pipeline_failures (tenant_id, failed_at DESC)")
    # One row per tenant × local day × failure type: the row is the "at most once" guard.
    op.execute("""
        CREATE TABLE tenant_data.pipeline_alerts (
            tenant_id     text NOT NULL,
            alert_date    date NOT NULL,
            failure_type  text NOT NULL,
            first_run_id  text NOT NULL,
            recipients    text[] NOT NULL DEFAULT '{}',
            status        text NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'no_recipients')),
            error         text,
            created_at    timestamptz NOT NULL DEFAULT now(),
            sent_at       timestamptz,
            PRIMARY KEY (tenant_id, alert_date, failure_type)
        )""")
    for table in ("pipeline_failures", "pipeline_alerts"):
        for stmt in enable_tenant_rls_sql(table):
            op.execute(stmt)


def downgrade() -> None:
    op.execute("DROP TABLE tenant_data.pipeline_alerts")
    op.execute("DROP TABLE tenant_data.pipeline_failures")
