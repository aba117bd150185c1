"""The HTTP API (issue 18): tenant API tokens, webhook endpoints and their delivery ledger.

- control.api_tokens: a tenant's API tokens, stored only as the sha256 of the token (a
  high-entropy random string, so a plain hash is enough), with scopes, last use and
  revocation. In the control plane: a token is looked up before its tenant is known.
- tenant_data.webhook_endpoints: URLs a tenant registered for task events, each with its
  signing secret encrypted (Fernet, ga_intel/crypto).
- tenant_data.webhook_deliveries: the ledger, one row per endpoint × event; the event id
  is the idempotency key, as the email ledger's is.
- Triggers on tenant_data.tasks write task.created / task.status_changed deliveries in the
  transaction that changes the task (an outbox): whichever writer it is (the pipeline, the
  dashboard, the API), no event is lost or made up. Nothing is written while the tenant
  has no endpoint for the event.

Revision ID: 0014
Revises: 0011
"""

from alembic import op

from ga_intel.db.rls import enable_tenant_rls_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

EVENTS = ("task.created", "task.status_changed")

# The task as an event shows it (docs/API.md); the API's task resource has the same fields.
_TASK_JSON = """jsonb_build_object(
    'task_key', n.task_key, 'task_type', n.task_type, 'status', n.status, 'priority', n.priority,
    'due_date', n.due_date, 'created_date', n.created_date, 'horizon_date', n.horizon_date,
    'branch_code', n.branch_code, 'assigned_rep_email', n.assigned_rep_email,
    'assigned_rep_name', n.assigned_rep_name, 'title', n.title, 'value', n.value::float8,
    'customer_id', n.customer_id, 'company_id', n.company_id, 'account_key', n.account_key,
    'note', n.note, 'status_set_by', n.status_set_by, 'status_set_at', n.status_set_at)"""

_OUTBOX = f"""
CREATE FUNCTION tenant_data.task_webhook_events() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- Row-level security limits this to the writing tenant's endpoints.
    IF NOT EXISTS (SELECT 1 FROM tenant_data.webhook_endpoints WHERE disabled_at IS NULL) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        WITH ev AS MATERIALIZED (
            SELECT n.tenant_id, gen_random_uuid() AS event_id, {_TASK_JSON} AS task
            FROM new_rows n
        )
        INSERT INTO tenant_data.webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, payload)
        SELECT ev.tenant_id, e.endpoint_id, ev.event_id, 'task.created',
               jsonb_build_object('id', ev.event_id, 'type', 'task.created', 'tenant_id', ev.tenant_id,
                                  'created_at', now(), 'data', jsonb_build_object('task', ev.task))
        FROM ev JOIN tenant_data.webhook_endpoints e
          ON e.tenant_id = ev.tenant_id AND 'task.created' = ANY(e.events) AND e.disabled_at IS NULL;
    ELSE
        WITH ev AS MATERIALIZED (
            SELECT n.tenant_id, gen_random_uuid() AS event_id, o.status AS previous_status, {_TASK_JSON} AS task
            FROM new_rows n JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.task_key = n.task_key
            WHERE o.status IS DISTINCT FROM n.status
        )
        INSERT INTO tenant_data.webhook_deliveries (tenant_id, endpoint_id, event_id, event_type, payload)
        SELECT ev.tenant_id, e.endpoint_id, ev.event_id, 'task.status_changed',
               jsonb_build_object('id', ev.event_id, 'type', 'task.status_changed', 'tenant_id', ev.tenant_id,
                                  'created_at', now(), 'data', jsonb_build_object(
                                      'task', ev.task, 'previous_status', ev.previous_status))
        FROM ev JOIN tenant_data.webhook_endpoints e
          ON e.tenant_id = ev.tenant_id AND 'task.status_changed' = ANY(e.events) AND e.disabled_at IS NULL;
    END IF;
    RETURN NULL;
END
$fn$"""


def upgrade() -> None:
    op.execute("""
        CREATE TABLE control.api_tokens (
            token_id     text PRIMARY KEY,          -- the token's visible start, e.g. gai_3f9a1c2e
            tenant_id    text NOT NULL REFERENCES control.tenants ON DELETE CASCADE,
            name         text NOT NULL,
            scopes       text[] NOT NULL,
            token_sha256 bytea NOT NULL UNIQUE,
            created_at   timestamptz NOT NULL DEFAULT now(),
            last_used_at timestamptz,
            revoked_at   timestamptz
        )""")
    op.execute("CREATE INDEX api_tokens_tenant ON control.api_tokens (tenant_id)")
    op.execute("COMMENT ON COLUMN control.api_tokens.token_sha256 IS 'sha256 of the whole token; never the token'")
    events = ", ".join(f"'{e}'" for e in EVENTS)
    op.execute(f"""
        CREATE TABLE tenant_data.webhook_endpoints (
            tenant_id   text NOT NULL,
            endpoint_id text NOT NULL,
            url         text NOT NULL,
            events      text[] NOT NULL CHECK (events <@ ARRAY[{events}]::text[] AND cardinality(events) > 0),
            secret      text NOT NULL,              -- Fernet token of {{"secret": ...}}; never plaintext
            created_at  timestamptz NOT NULL DEFAULT now(),
            disabled_at timestamptz,
            PRIMARY KEY (tenant_id, endpoint_id)
        )""")
    op.execute(f"""
        CREATE TABLE tenant_data.webhook_deliveries (
            tenant_id       text NOT NULL,
            endpoint_id     text NOT NULL,
            event_id        uuid NOT NULL,
            event_type      text NOT NULL CHECK (event_type IN ({events})),
            payload         jsonb NOT NULL,
            status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts        integer NOT NULL DEFAULT 0,
            -- when the next attempt may start; while one runs, the end of its lease
            next_attempt_at timestamptz NOT NULL DEFAULT now(),
            last_attempt_at timestamptz,
            response_code   integer,
            error           text,
            created_at      timestamptz NOT NULL DEFAULT now(),
            delivered_at    timestamptz,
            PRIMARY KEY (tenant_id, endpoint_id, event_id),
            CHECK (status <> 'delivered' OR delivered_at IS NOT NULL)
        )""")
    op.execute(
        "CREATE INDEX webhook_deliveries_due ON tenant_data.webhook_deliveries (tenant_id, next_attempt_at) "
        "WHERE status = 'pending'"
    )
    for table in ("webhook_endpoints", "webhook_deliveries"):
        for stmt in enable_tenant_rls_sql(table):
            op.execute(stmt)
    op.execute(_OUTBOX)
    op.execute(
        "CREATE TRIGGER tasks_webhook_created AFTER INSERT ON tenant_data.tasks "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tenant_data.task_webhook_events()"
    )
    op.execute(
        "CREATE TRIGGER tasks_webhook_status AFTER UPDATE ON tenant_data.tasks "
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION tenant_data.task_webhook_events()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER tasks_webhook_status ON tenant_data.tasks")
    op.execute("DROP TRIGGER tasks_webhook_created ON tenant_data.tasks")
    op.execute("DROP FUNCTION tenant_data.task_webhook_events()")
    op.execute("DROP TABLE tenant_data.webhook_deliveries")
    op.execute("DROP TABLE tenant_data.webhook_endpoints")
    op.execute("DROP TABLE control.api_tokens")
