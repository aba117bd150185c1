"""GA4 parity (issue 13): sessions keyed as dbt-ga4 keys them, cookieless events, refunds,
amounts in USD beside the event currency, and the new figures.

- sessions: stream_id (part of the key), the session number, whether the session brought
  a new user, GA4's is_active_user, and `continues_earlier` (the part of a session that
  crossed midnight, counted on its start day only).
- unsessioned_events: counts of the events that are not sessions (no user_pseudo_id, or
  no ga_session_id), per who they belong to.
- refunds: one row per refund event.
- purchases, purchase_items, cart_adds: the USD amount GA4 converted, beside the event's.
- searches.term_source: 'param' (search_term) or 'url' (read from the page URL).
- data_availability.quality: what ingestion dropped or cleaned (duplicates, bad values).
- daily_metrics / location_daily_metrics: engaged_sessions, single_page_sessions,
  new_users, cookieless_events, refunds, net_revenue, engagement_rate, and a HyperLogLog
  sketch of the day's active users for distinct counts over a range.
- bounced_pages_daily counts single-page sessions (the seed system's "bounce"), named so.
- Two SQL functions, so each rule is written once:
  `tenant_data.account_key(known_user_id, known_company_id)`: who a GA4 row belongs to,
  once its customer and company are looked up in the master data (a known customer wins
  over a known company); `tenant_data.in_currency(amount, currency, amount_usd,
  reporting)`: an amount in the tenant's reporting currency, or NULL when GA4 gave no
  conversion to it.

Existing rows get the defaults below until their day is re-run (`ga-intel run`).

Revision ID: 0010
Revises: 0009
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_IDENTITY = """
    tenant_id       text NOT NULL,
    event_date      date NOT NULL,
    customer_id     text,
    company_id      text,
    branch_id       text,
"""

NEW_TABLES = {
    "unsessioned_events": _IDENTITY
    + """
    reason          text NOT NULL CHECK (reason IN ('no_pseudo_id', 'no_session_id')),
    events          integer NOT NULL,
    purchase_events integer NOT NULL
    """,
    "refunds": _IDENTITY
    + """
    user_pseudo_id  text,
    stream_id       text,
    ga_session_id   bigint,
    transaction_id  text,
    event_time      timestamptz NOT NULL,
    event_timestamp bigint NOT NULL,
    refund_value    numeric(14, 2),
    refund_value_in_usd numeric(14, 2),
    currency        text
    """,
}

_METRIC_COLUMNS = """
    ADD COLUMN engaged_sessions integer NOT NULL DEFAULT 0,
    ADD COLUMN single_page_sessions integer NOT NULL DEFAULT 0,
    ADD COLUMN new_users integer NOT NULL DEFAULT 0,
    ADD COLUMN cookieless_events integer NOT NULL DEFAULT 0,
    ADD COLUMN refunds numeric(14, 2) NOT NULL DEFAULT 0,
    ADD COLUMN net_revenue numeric(14, 2) NOT NULL DEFAULT 0,
    ADD COLUMN engagement_rate double precision,
    ADD COLUMN users_sketch bytea
"""


FUNCTIONS = {
    "account_key(known_user_id text, known_company_id text)": """
        RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT CASE WHEN known_user_id IS NOT NULL THEN 'user:' || known_user_id
                      WHEN known_company_id IS NOT NULL THEN 'company:' || known_company_id END
        $$""",
    # GA4 converts every amount to USD (the *_in_usd fields) with its own daily rate; an
    # amount in the reporting currency is taken as it is, one in another currency is
    # taken from GA4's USD figure when the tenant reports in USD, and is otherwise NULL
    # (left out of the sums and counted by the metrics check) — never added as if it
    # were in the reporting currency. A missing currency is the reporting currency.
    "in_currency(amount numeric, currency text, amount_usd numeric, reporting text)": """
        RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
          SELECT CASE WHEN coalesce(nullif(upper(trim(currency)), ''), reporting) = reporting THEN amount
                      WHEN reporting = 'USD' THEN amount_usd END
        $$""",
}


def upgrade() -> None:
    for signature, body in FUNCTIONS.items():
        op.execute(f"CREATE FUNCTION tenant_data.{signature} {body}")
    op.execute("""
        ALTER TABLE tenant_data.sessions
            ADD COLUMN stream_id text,
            ADD COLUMN session_number bigint,
            ADD COLUMN new_user boolean NOT NULL DEFAULT false,
            ADD COLUMN active_user boolean,
            ADD COLUMN continues_earlier boolean NOT NULL DEFAULT false""")
    op.execute("ALTER TABLE tenant_data.purchases ADD COLUMN stream_id text, ADD COLUMN revenue_in_usd numeric(14, 2)")
    op.execute(
        "ALTER TABLE tenant_data.purchase_items ADD COLUMN item_revenue_in_usd numeric(14, 2), ADD COLUMN currency text"
    )
    op.execute("ALTER TABLE tenant_data.cart_adds ADD COLUMN value_in_usd numeric(14, 2), ADD COLUMN currency text")
    op.execute("ALTER TABLE tenant_data.searches ADD COLUMN term_source text")
    op.execute("ALTER TABLE tenant_data.data_availability ADD COLUMN quality jsonb NOT NULL DEFAULT '{}'")
    for table, columns in NEW_TABLES.items():
        op.execute(f"CREATE TABLE tenant_data.{table} ({columns.rstrip().rstrip(',')})")
        op.execute(f"CREATE INDEX {table}_tenant_day ON tenant_data.{table} (tenant_id, event_date)")
        for stmt in enable_tenant_rls_sql(table):
            op.execute(stmt)
    # A transaction counts on the earliest day it appears: looked up by id, across days.
    op.execute(
        "CREATE INDEX purchases_transaction_day ON tenant_data.purchases (tenant_id, transaction_id, event_date)"
    )
    op.execute("DROP INDEX tenant_data.purchases_transaction")
    for table in ("daily_metrics", "location_daily_metrics"):
        op.execute(f"ALTER TABLE tenant_data.{table} {_METRIC_COLUMNS}")
        op.execute(f"UPDATE tenant_data.{table} SET net_revenue = revenue, single_page_sessions = bounced_sessions")
    op.execute("ALTER TABLE tenant_data.bounced_pages_daily RENAME COLUMN bounced_sessions TO single_page_sessions")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION tenant_data.{signature}")
    op.execute("ALTER TABLE tenant_data.bounced_pages_daily RENAME COLUMN single_page_sessions TO bounced_sessions")
    for table in ("daily_metrics", "location_daily_metrics"):
        op.execute(
            f"ALTER TABLE tenant_data.{table} DROP COLUMN engaged_sessions, DROP COLUMN single_page_sessions, "
            "DROP COLUMN new_users, DROP COLUMN cookieless_events, DROP COLUMN refunds, "
            "DROP COLUMN net_revenue, DROP COLUMN engagement_rate, DROP COLUMN users_sketch"
        )
    op.execute("CREATE INDEX purchases_transaction ON tenant_data.purchases (tenant_id, transaction_id)")
    op.execute("DROP INDEX tenant_data.purchases_transaction_day")
    for table in NEW_TABLES:
        op.execute(f"DROP TABLE tenant_data.{table}")
    op.execute("ALTER TABLE tenant_data.data_availability DROP COLUMN quality")
    op.execute("ALTER TABLE tenant_data.searches DROP COLUMN term_source")
    op.execute("ALTER TABLE tenant_data.cart_adds DROP COLUMN value_in_usd, DROP COLUMN currency")
    op.execute("ALTER TABLE tenant_data.purchase_items DROP COLUMN item_revenue_in_usd, DROP COLUMN currency")
    op.execute("ALTER TABLE tenant_data.purchases DROP COLUMN stream_id, DROP COLUMN revenue_in_usd")
    op.execute(
        "ALTER TABLE tenant_data.sessions DROP COLUMN stream_id, DROP COLUMN session_number, "
        "DROP COLUMN new_user, DROP COLUMN active_user, DROP COLUMN continues_earlier"
    )
