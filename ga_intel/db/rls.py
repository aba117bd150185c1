"""Row-level security for tenant data, as migrations apply it.

Every table in the `tenant_data` schema has a `tenant_id` column and the policy below,
FORCEd so that even the table owner is filtered. Readers and writers reach these tables
only through `ga_intel.db.tenant_scope`, which sets `app.tenant_id` for one transaction;
with it unset, `current_setting(..., true)` is NULL and no row matches.
"""

from __future__ import annotations

from ga_intel.db.engine import TENANT_SETTING  # the one setting tenant_scope sets

TENANT_SCHEMA = "tenant_data"
POLICY_NAME = "tenant_isolation"


def enable_tenant_rls_sql(table: str) -> list[str]:
    """Statements that put `tenant_data.<table>` under tenant isolation."""
    qualified = f"{TENANT_SCHEMA}.{table}"
    predicate = f"tenant_id = current_setting('{TENANT_SETTING}', true)"
    return [
        f"ALTER TABLE {qualified} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {qualified} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {POLICY_NAME} ON {qualified} USING ({predicate}) WITH CHECK ({predicate})",
    ]
