"""Indexes for the dashboard's queries (`ga-intel bench dashboard`, docs/PERFORMANCE.md).

- tasks: the work list by rep (case-insensitive email), by branch, and the cart page by
  task type, each over a created_date range;
- location_daily_metrics: one branch over a date range (the branch filter); the primary
  key leads with the date;
- the customer-activity lookups of the Tasks page: newest searches of a customer, and
  newest sessions / orders / cart adds / searches of a buying company (company accounts).

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = {
    "tasks_rep_created": "tasks (tenant_id, lower(assigned_rep_email), created_date)",
    "tasks_branch_created": "tasks (tenant_id, branch_code, created_date)",
    "tasks_type_created": "tasks (tenant_id, task_type, created_date)",
    "location_daily_metrics_branch": "location_daily_metrics (tenant_id, branch_code, event_date)",
    "searches_customer": "searches (tenant_id, customer_id, event_time)",
    "sessions_company": "sessions (tenant_id, company_id, session_start) WHERE company_id IS NOT NULL",
    "purchases_company": "purchases (tenant_id, company_id, event_time) WHERE company_id IS NOT NULL",
    "cart_adds_company": "cart_adds (tenant_id, company_id, event_time) WHERE company_id IS NOT NULL",
    "searches_company": "searches (tenant_id, company_id, event_time) WHERE company_id IS NOT NULL",
}


def upgrade() -> None:
    for name, target in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON tenant_data.{target}")


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.execute(f"DROP INDEX tenant_data.{name}")
