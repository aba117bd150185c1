"""GA4 analytics tables, one tenant × event_date partition at a time.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Columns every table shares: whose, which day, and who (resolved per the tenant's
# ga4 settings: customer, buying company, branch) with GA4's own device id and session.
_IDENTITY = """
    tenant_id       text NOT NULL,
    event_date      date NOT NULL,
    customer_id     text,
    company_id      text,
    branch_id       text,
    user_pseudo_id  text,
    ga_session_id   bigint,
"""

TABLES = {
    "sessions": _IDENTITY
    + """
    session_start   timestamptz NOT NULL,
    session_end     timestamptz NOT NULL,
    page_views      integer NOT NULL,
    engaged         boolean NOT NULL,
    source          text,
    medium          text,
    device_category text,
    country         text,
    landing_page    text,
    had_add_to_cart boolean NOT NULL,
    had_purchase    boolean NOT NULL,
    event_count     integer NOT NULL
    """,
    "purchases": _IDENTITY
    + """
    transaction_id  text,
    id_status       text NOT NULL CHECK (id_status IN ('ok', 'not_set', 'null')),
    event_time      timestamptz NOT NULL,
    event_timestamp bigint NOT NULL,
    revenue         numeric(14, 2),
    currency        text,
    item_count      integer,
    duplicate_events integer NOT NULL
    """,
    "purchase_items": _IDENTITY
    + """
    transaction_id  text,
    event_time      timestamptz NOT NULL,
    event_timestamp bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         text,
    item_name       text,
    item_brand      text,
    item_category   text,
    price           numeric(14, 2),
    quantity        integer NOT NULL,
    item_revenue    numeric(14, 2)
    """,
    "cart_adds": _IDENTITY
    + """
    event_time      timestamptz NOT NULL,
    event_timestamp bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         text,
    item_name       text,
    item_category   text,
    quantity        integer NOT NULL,
    price           numeric(14, 2),
    value           numeric(14, 2)
    """,
    "searches": _IDENTITY
    + """
    event_time      timestamptz NOT NULL,
    event_timestamp bigint NOT NULL,
    event_name      text NOT NULL,
    search_term     text,
    no_results      boolean NOT NULL,
    then_view_item  boolean NOT NULL,
    then_add_to_cart boolean NOT NULL,
    then_purchase   boolean NOT NULL
    """,
    "item_views": _IDENTITY
    + """
    event_time      timestamptz NOT NULL,
    event_timestamp bigint NOT NULL,
    line_no         integer NOT NULL,
    item_id         text,
    item_name       text,
    item_category   text,
    price           numeric(14, 2),
    page_location   text
    """,
    "page_views": _IDENTITY
    + """
    event_time      timestamptz NOT NULL,
    event_timestamp bigint NOT NULL,
    page_location   text,
    page_title      text
    """,
}


def upgrade() -> None:
    for table, columns in TABLES.items():
        op.execute(f"CREATE TABLE tenant_data.{table} ({columns.rstrip().rstrip(',')})")
        # Every read and every partition replace filters on these two first.
        op.execute(f"CREATE INDEX {table}_tenant_day ON tenant_data.{table} (tenant_id, event_date)")
        for stmt in enable_tenant_rls_sql(table):
            op.execute(stmt)
    op.execute("CREATE INDEX sessions_customer ON tenant_data.sessions (tenant_id, customer_id, session_start)")
    op.execute("CREATE INDEX purchases_transaction ON tenant_data.purchases (tenant_id, transaction_id)")
    op.execute("CREATE INDEX purchases_customer ON tenant_data.purchases (tenant_id, customer_id, event_time)")
    op.execute("CREATE INDEX cart_adds_customer ON tenant_data.cart_adds (tenant_id, customer_id, event_time)")

    op.execute(
        """
        CREATE TABLE tenant_data.data_availability (
            tenant_id       text NOT NULL,
            event_date      date NOT NULL,
            source_table    text NOT NULL,
            status          text NOT NULL CHECK (status IN ('complete', 'provisional', 'missing', 'failed')),
            bq_modified_at  timestamptz,
            bq_row_count    bigint,
            rows_written    jsonb NOT NULL DEFAULT '{}',
            run_id          text,
            message         text,
            updated_at      timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (tenant_id, event_date)
        )
        """
    )
    for stmt in enable_tenant_rls_sql("data_availability"):
        op.execute(stmt)


def downgrade() -> None:
    for table in [*TABLES, "data_availability"]:
        op.execute(f"DROP TABLE tenant_data.{table}")
