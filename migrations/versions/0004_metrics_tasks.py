"""Metrics per tenant × day (and per branch), search terms, bounced pages, and tasks.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_FIGURES = """
    revenue             numeric(14, 2) NOT NULL,
    transactions        integer NOT NULL,
    aov                 numeric(14, 2),
    purchasers          integer NOT NULL,
    sessions            integer NOT NULL,
    active_users        integer NOT NULL,
    converting_sessions integer NOT NULL,
    session_conversion_rate double precision,
    carts_created       integer NOT NULL,
    carts_abandoned     integer NOT NULL,
    abandonment_rate    double precision,
    recovered_revenue   numeric(14, 2) NOT NULL,
    searches            integer NOT NULL,
    no_click_searches   integer NOT NULL,
    no_click_rate       double precision,
    no_result_searches  integer NOT NULL,
    repeat_visitors     integer NOT NULL,
    bounced_sessions    integer NOT NULL,
    bounce_rate         double precision,
    computed_at         timestamptz NOT NULL DEFAULT now()
"""


def upgrade() -> None:
    op.execute(f"""
        CREATE TABLE tenant_data.daily_metrics (
            tenant_id text NOT NULL, event_date date NOT NULL, {_FIGURES},
            PRIMARY KEY (tenant_id, event_date))""")
    op.execute(f"""
        CREATE TABLE tenant_data.location_daily_metrics (
            tenant_id text NOT NULL, event_date date NOT NULL, branch_code text NOT NULL, {_FIGURES},
            PRIMARY KEY (tenant_id, event_date, branch_code))""")
    op.execute("""
        CREATE TABLE tenant_data.search_terms_daily (
            tenant_id text NOT NULL, event_date date NOT NULL, branch_code text NOT NULL, search_term text NOT NULL,
            searches integer NOT NULL, searching_users integer NOT NULL, sessions integer NOT NULL,
            no_click_sessions integer NOT NULL, no_result_searches integer NOT NULL,
            cart_sessions integer NOT NULL, purchase_sessions integer NOT NULL,
            PRIMARY KEY (tenant_id, event_date, branch_code, search_term))""")
    op.execute("""
        CREATE TABLE tenant_data.bounced_pages_daily (
            tenant_id text NOT NULL, event_date date NOT NULL, landing_page text NOT NULL,
            sessions integer NOT NULL, bounced_sessions integer NOT NULL,
            PRIMARY KEY (tenant_id, event_date, landing_page))""")
    op.execute("""
        CREATE TABLE tenant_data.tasks (
            tenant_id       text NOT NULL,
            task_key        text NOT NULL,
            task_type       text NOT NULL CHECK (task_type IN
                              ('purchase_followup', 'cart_recovery', 'search_followup', 'repeat_visitor')),
            account_key     text NOT NULL,
            customer_id     text,
            company_id      text,
            branch_code     text NOT NULL,
            assigned_rep_email text,
            assigned_rep_name  text,
            source_date     date NOT NULL,
            created_date    date NOT NULL,
            due_date        date NOT NULL,
            priority        smallint NOT NULL CHECK (priority BETWEEN 1 AND 3),
            status          text NOT NULL DEFAULT 'open' CHECK (status IN
                              ('open', 'in_progress', 'done', 'dismissed', 'recovered', 'expired')),
            status_set_by   text,
            status_set_at   timestamptz,
            note            text,
            title           text NOT NULL,
            value           numeric(14, 2),
            context         jsonb NOT NULL DEFAULT '{}',
            recovered_revenue numeric(14, 2),
            recovered_on    date,
            created_at      timestamptz NOT NULL DEFAULT now(),
            updated_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, task_key)
        )""")
    op.execute("CREATE INDEX tasks_open ON tenant_data.tasks (tenant_id, status, branch_code)")
    op.execute("CREATE INDEX tasks_account ON tenant_data.tasks (tenant_id, account_key, task_type)")
    for table in ("daily_metrics", "location_daily_metrics", "search_terms_daily", "bounced_pages_daily", "tasks"):
        for stmt in enable_tenant_rls_sql(table):
            op.execute(stmt)


def downgrade() -> None:
    for table in ("tasks", "bounced_pages_daily", "search_terms_daily", "location_daily_metrics", "daily_metrics"):
        op.execute(f"DROP TABLE tenant_data.{table}")
