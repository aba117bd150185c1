"""Which tasks a person may see and change, enforced in the SQL (the dashboard's Tasks page
and the API alike).

From the control plane membership (`control.tenant_members`; an API token acts as the
tenant's admin):

| role | sees and may change |
|---|---|
| admin | every task of the tenant |
| manager | the tasks of their branch (`branch_scope`); a manager without a branch: every task |
| rep | the tasks assigned to their email (`assigned_rep_email`, case-insensitive) |

Every task query carries `SCOPE` (bound parameters, built by `params`), and a status
change re-checks it on the row, `FOR UPDATE`, in the transaction that writes: a task key
taken from edited session state, a stale page or another tenant is refused when it is not
the person's.
"""

from __future__ import annotations

from typing import Protocol

import sqlalchemy as sa

from ga_intel import reads
from ga_intel.errors import GaIntelError

# On tenant_data.tasks; the role's arms fold to constants when planned (psycopg2 binds
# client-side), so the rep and branch arms can use their indexes (migration 0006).
SCOPE = """(
    CAST(:scope_role AS text) = 'admin'
    OR (CAST(:scope_role AS text) = 'manager'
        AND (CAST(:scope_branch AS text) IS NULL OR tasks.branch_code = :scope_branch))
    OR (CAST(:scope_role AS text) = 'rep' AND lower(tasks.assigned_rep_email) = :scope_email)
)"""


class Person(Protocol):
    """Who acts: the dashboard's `Context`, or the API's `Principal`."""

    tenant_id: str
    email: str
    role: str  # admin | manager | rep
    branch: str | None


class NotInScope(GaIntelError):
    """The task does not exist for this tenant, or is not the person's to see."""


def params(person: Person) -> dict[str, str | None]:
    return {"scope_role": person.role, "scope_email": person.email.lower(), "scope_branch": person.branch}


def scoped(text: str, name: str = "the query") -> str:
    """`text` with its `/*task_scope*/` marker replaced by `SCOPE`."""
    if "/*task_scope*/" not in text:
        raise ValueError(f"{name} has no /*task_scope*/ marker")
    return text.replace("/*task_scope*/", SCOPE)


def scoped_sql(name: str) -> str:
    """`ga_intel/reads/sql/<name>.sql`, scoped."""
    return scoped(reads.sql(name), f"{name}.sql")


def describe(person: Person) -> str:
    if person.role == "admin":
        return "every task of the tenant (admin)"
    if person.role == "manager":
        return (
            f"the tasks of branch **{person.branch}** (manager)"
            if person.branch
            else "every task of the tenant (manager)"
        )
    return f"the tasks assigned to **{person.email}** (rep)"


def change_status(person: Person, task_key: str, status: str, note: str | None, by: str | None = None) -> None:
    """Write a person's status (and note) through `ga_intel.insights.tasks.set_status`,
    only for a task inside their scope; the re-computation of tasks never overwrites it.
    `by` is the audit name (default: the person's email)."""
    from ga_intel.db import tenant_scope
    from ga_intel.insights import tasks

    with tenant_scope(person.tenant_id) as conn:
        mine = conn.execute(
            sa.text(f"SELECT 1 FROM tenant_data.tasks WHERE task_key = :task_key AND {SCOPE} FOR UPDATE"),
            {"task_key": task_key, **params(person)},
        ).first()
        if mine is None:
            raise NotInScope(
                f"task {task_key!r} is not in your work list",
                hint="you can change only " + describe(person).replace("**", ""),
            )
        tasks.set_status(conn, person.tenant_id, task_key, status, by=by or person.email, note=note or None)
