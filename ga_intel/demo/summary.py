"""What `make dev` loaded, printed once the demo data is in: days, events, tasks per type,
emails sent, and the one URL that opens the dashboard on a rep's list."""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.insights.tasks import TASK_TYPES


def lines(tenant_id: str, dashboard_url: str) -> list[str]:
    with tenant_scope(tenant_id) as conn:
        days, events, first, last = conn.execute(
            sa.text(
                "SELECT count(*), coalesce(sum(bq_row_count), 0), min(event_date), max(event_date) "
                "FROM tenant_data.data_availability WHERE status IN ('complete', 'provisional')"
            )
        ).one()
        tasks = dict(conn.execute(sa.text("SELECT task_type, count(*) FROM tenant_data.tasks GROUP BY 1")).all())
        sent = conn.execute(sa.text("SELECT count(*) FROM tenant_data.email_deliveries WHERE status = 'sent'")).scalar()
        rep = conn.execute(
            sa.text(
                "SELECT assigned_rep_email, branch_code, count(*) FROM tenant_data.tasks "
                "WHERE status = 'open' AND assigned_rep_email IS NOT NULL GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1"
            )
        ).first()
    out = [f"{tenant_id}: {days} day(s) loaded" + (f" ({first} – {last})" if days else "") + f", {events:,} events"]
    per_type = ", ".join(f"{tasks.get(t, 0):,} {label.lower()}" for t, label in TASK_TYPES.items())
    out.append(f"  tasks: {sum(tasks.values()):,} ({per_type})")
    out.append(
        f"  emails sent: {sent:,}"
        + (
            ""
            if sent
            else " (the reports go out at the tenant's send hour; "
            f"`ga-intel email send --tenant {tenant_id} --date {last}` "
            "sends one day's now)"
            if last
            else ""
        )
    )
    if rep:
        email, branch, count = rep
        query = urlencode({"tenant": tenant_id, "branch": branch, "rep": email})
        out.append(f"  {email}'s list ({count} open task(s), branch {branch}):")
        out.append(f"    python -m webbrowser '{dashboard_url.rstrip('/')}/tasks?{query}'")
    return out
