"""The branch -> sales-rep mapping a tenant admin edits (CLI, dashboard). Rows set here
are `manual`: a reload of the master-data files never overwrites or removes them."""

from __future__ import annotations

import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.errors import GaIntelError
from ga_intel.tenancy.tenant_file import _email


def list_reps(tenant_id: str) -> list[dict]:
    with tenant_scope(tenant_id) as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT branch_code, rep_email, rep_name, role, enabled, source, updated_at FROM tenant_data.sales_reps "
                    "ORDER BY branch_code, rep_email"
                )
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]


ROLES = ("rep", "manager")


def set_rep(tenant_id: str, branch: str, email: str, name: str, enabled: bool = True, role: str = "rep") -> None:
    """Add or change one mapping row. Managers get their branch's report like reps but
    are never assigned tasks."""
    if role not in ROLES:
        raise GaIntelError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    try:
        email = _email(email)
    except ValueError:
        raise GaIntelError(f"{email!r} is not a valid email address") from None
    if not branch.strip() or not name.strip():
        raise GaIntelError("branch and name must not be empty")
    with tenant_scope(tenant_id) as conn:
        known = conn.execute(
            sa.text("SELECT 1 FROM tenant_data.locations WHERE warehouse_code = :b"), {"b": branch}
        ).first()
        any_locations = conn.execute(sa.text("SELECT 1 FROM tenant_data.locations LIMIT 1")).first()
        if any_locations and not known:
            raise GaIntelError(
                f"branch {branch!r} is not in tenant {tenant_id!r}'s locations list",
                hint="`ga-intel reps list` and the Locations page show the branches",
            )
        conn.execute(
            sa.text(
                "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name, role, enabled, source) "
                "VALUES (:tenant, :b, :e, :n, :r, :en, 'manual') ON CONFLICT (tenant_id, branch_code, rep_email) DO UPDATE SET "
                "rep_name = EXCLUDED.rep_name, role = EXCLUDED.role, enabled = EXCLUDED.enabled, source = 'manual', "
                "updated_at = now()"
            ),
            {"tenant": tenant_id, "b": branch.strip(), "e": email, "n": name.strip(), "r": role, "en": enabled},
        )


def remove_rep(tenant_id: str, branch: str, email: str) -> bool:
    with tenant_scope(tenant_id) as conn:
        return (
            conn.execute(
                sa.text("DELETE FROM tenant_data.sales_reps WHERE branch_code = :b AND rep_email = lower(:e)"),
                {"b": branch, "e": email.strip()},
            ).rowcount
            > 0
        )


def customers_without_rep(tenant_id: str, examples: int = 10) -> tuple[int, list[str]]:
    """Customers nobody covers now: no rep of their own in the user report and no enabled
    rep for their branch. Read from the tables, so manual edits count, and a run whose
    files were unchanged still reports the current state."""
    with tenant_scope(tenant_id) as conn:
        uncovered = (
            "FROM tenant_data.users u WHERE u.rep_email IS NULL AND NOT EXISTS ("
            "SELECT 1 FROM tenant_data.sales_reps r WHERE r.branch_code = u.branch_code AND r.enabled AND r.role = 'rep')"
        )
        count = conn.execute(sa.text(f"SELECT count(*) {uncovered}")).scalar()
        rows = conn.execute(
            sa.text(f"SELECT u.user_id, u.branch_code, u.source_row {uncovered} ORDER BY u.source_row LIMIT :n"),
            {"n": examples},
        ).all()
    return count, [
        f"customer {uid} (row {row}) has no sales rep (none for branch {branch})" for uid, branch, row in rows
    ]


def apply_edits(tenant_id: str, upserts: list[dict], removals: list[tuple[str, str]]) -> None:
    """The dashboard's table edits, all or nothing: every row is checked before any is
    written. `upserts`: dicts with branch_code, rep_email, rep_name, enabled."""
    problems = []
    with tenant_scope(tenant_id) as conn:
        branches = set(conn.execute(sa.text("SELECT warehouse_code FROM tenant_data.locations")).scalars())
        cleaned = []
        for i, row in enumerate(upserts, 1):
            branch, name = (row.get("branch_code") or "").strip(), (row.get("rep_name") or "").strip()
            try:
                email = _email(row.get("rep_email") or "")
            except ValueError:
                problems.append(f"row {i}: {row.get('rep_email')!r} is not a valid email address")
                continue
            role = row.get("role") or "rep"
            if not branch or not name:
                problems.append(f"row {i}: branch and name must not be empty")
            elif role not in ROLES:
                problems.append(f"row {i}: role must be one of {', '.join(ROLES)}, not {role!r}")
            elif branches and branch not in branches:
                problems.append(f"row {i}: branch {branch!r} is not in the locations list")
            else:
                cleaned.append(
                    {
                        "tenant": tenant_id,
                        "b": branch,
                        "e": email,
                        "n": name,
                        "r": role,
                        "en": row.get("enabled") is None or bool(row.get("enabled")),
                    }
                )
        if problems:
            raise GaIntelError("nothing was saved: " + "; ".join(problems))
        for branch, email in removals:
            conn.execute(
                sa.text("DELETE FROM tenant_data.sales_reps WHERE branch_code = :b AND rep_email = :e"),
                {"b": branch, "e": email},
            )
        for params in cleaned:
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name, role, enabled, source) "
                    "VALUES (:tenant, :b, :e, :n, :r, :en, 'manual') ON CONFLICT (tenant_id, branch_code, rep_email) DO UPDATE "
                    "SET rep_name = EXCLUDED.rep_name, role = EXCLUDED.role, enabled = EXCLUDED.enabled, source = 'manual', "
                    "updated_at = now()"
                ),
                params,
            )
