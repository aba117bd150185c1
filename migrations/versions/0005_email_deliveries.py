"""Email reports: the delivery ledger, and a role on the sales-rep mapping.

Revision ID: 0005
Revises: 0004
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Managers of a branch get its report beside its reps; the mapping says who is which.
    op.execute(
        "ALTER TABLE tenant_data.sales_reps ADD COLUMN role text NOT NULL DEFAULT 'rep' "
        "CHECK (role IN ('rep', 'manager'))"
    )
    op.execute("""
        CREATE TABLE tenant_data.email_deliveries (
            tenant_id       text NOT NULL,
            -- sha256 of tenant, report kind, report date, branch and recipient: one row per
            -- message a person should get, whatever re-runs, retries or backfills happen.
            idempotency_key text NOT NULL,
            report_kind     text NOT NULL CHECK (report_kind IN ('branch', 'summary')),
            report_date     date NOT NULL,
            branch_code     text NOT NULL,          -- '*' for the tenant-wide summary
            recipient       text NOT NULL,          -- '' on a skipped report with no recipients
            recipient_name  text,
            status          text NOT NULL DEFAULT 'queued'
                              CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'skipped')),
            skip_reason     text,
            attempts        integer NOT NULL DEFAULT 0,
            smtp_code       integer,
            error           text,
            message_id      text,
            subject         text,
            data_incomplete boolean NOT NULL DEFAULT false,
            run_id          text,
            queued_at       timestamptz NOT NULL DEFAULT now(),
            last_attempt_at timestamptz,
            sent_at         timestamptz,
            updated_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, idempotency_key),
            CHECK (status <> 'skipped' OR skip_reason IS NOT NULL),
            CHECK (status <> 'sent' OR message_id IS NOT NULL)
        )""")
    op.execute("CREATE INDEX email_deliveries_report ON tenant_data.email_deliveries (tenant_id, report_date, status)")
    for stmt in enable_tenant_rls_sql("email_deliveries"):
        op.execute(stmt)


def downgrade() -> None:
    op.execute("DROP TABLE tenant_data.email_deliveries")
    op.execute("ALTER TABLE tenant_data.sales_reps DROP COLUMN role")
