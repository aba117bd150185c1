"""Which tasks a person may see and change, enforced in the SQL.

From the control plane membership (`control.tenant_members`, re-read on every run by
`lib.context`, never from session state):

| role | sees and may change |
|---|---|
| admin | every task of the tenant |
| manager | the tasks of their branch (`branch_scope`); a manager without a branch: every task |
| rep | the tasks assigned to their email (`assigned_rep_email`, case-insensitive) |

Every task query carries `SCOPE` (bound parameters, built by `params`), and a status
change re-checks it on the row, `FOR UPDATE`, in the transaction that writes: a task key
taken from edited session state or a stale page is refused when it is not the person's.
"""

from __future__ import annotations

import sqlalchemy as sa

from ga_intel.errors import GaIntelError
from streamlit_app.lib import context, data

# On tenant_data.tasks; the role's arms fold to constants when planned (psycopg2 binds
# client-side), so the rep and branch arms can use their indexes (migration 0006).
SCOPE = """(
    CAST(:scope_role AS text) = 'admin'
    OR (CAST(:scope_role AS text) = 'manager'
        AND (CAST(:scope_branch AS text) IS NULL OR tasks.branch_code = :scope_branch))
    OR (CAST(:scope_role AS text) = 'rep' AND lower(tasks.assigned_rep_email) = :scope_email)
)"""


def params(ctx: context.Context) -> dict[str, str | None]:
    return {"scope_role": ctx.role, "scope_email": ctx.email.lower(), "scope_branch": ctx.branch}


def scoped_sql(name: str) -> str:
    """`streamlit_app/sql/<name>.sql` with its `/*task_scope*/` marker replaced by `SCOPE`."""
    text = data.sql(name)
    if "/*task_scope*/" not in text:
        raise ValueError(f"{name}.sql has no /*task_scope*/ marker")
    return text.replace("/*task_scope*/", SCOPE)


def describe(ctx: context.Context) -> str:
    if ctx.role == "admin":
        return "every task of the tenant (admin)"
    if ctx.role == "manager":
        return f"the tasks of branch **{ctx.branch}** (manager)" if ctx.branch else "every task of the tenant (manager)"
    return f"the tasks assigned to **{ctx.email}** (rep)"


def change_status(ctx: context.Context, task_key: str, status: str, note: str | None) -> None:
    """Write a person's status (and note) through `ga_intel.insights.tasks.set_status`,
    only for a task inside their scope; the re-computation of tasks never overwrites it."""
    from ga_intel.db import tenant_scope
    from ga_intel.insights import tasks

    with tenant_scope(ctx.tenant_id) as conn:
        mine = conn.execute(sa.text(f"SELECT 1 FROM tenant_data.tasks WHERE task_key = :task_key AND {SCOPE} "
                                    "FOR UPDATE"), {"task_key": task_key, **params(ctx)}).first()
        if mine is None:
            raise GaIntelError(f"task {task_key!r} is not in your work list",
                               hint="you can change only " + describe(ctx).replace("**", ""))
        tasks.set_status(conn, ctx.tenant_id, task_key, status, by=ctx.email, note=note or None)
    data.clear_cache()
