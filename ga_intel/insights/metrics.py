"""Compute and replace one tenant × day of metrics. Every formula lives in sql/metrics.sql
and is documented in docs/METRICS.md; rates are derived here from those counts only.

A day's figures also depend on the days after it (a session that crosses midnight, a
cart bought within its window) and on the days before it (a transaction first seen
earlier counts there), so loading one day can change another's figures: `days_to_compute`
says which, and the insights job recomputes them all in the same transaction. Whatever
order days are loaded in, every day ends up computed over the same data.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.insights import users
from ga_intel.insights.queries import rule_params, sql, window_days
from ga_intel.tenancy.tenant_file import TenantConfig

COUNTS = [
    "revenue",
    "refunds",
    "net_revenue",
    "transactions",
    "purchasers",
    "sessions",
    "engaged_sessions",
    "bounced_sessions",
    "single_page_sessions",
    "active_users",
    "new_users",
    "converting_sessions",
    "carts_created",
    "carts_abandoned",
    "recovered_revenue",
    "recovered_after_contact_revenue",
    "searches",
    "no_click_searches",
    "no_result_searches",
    "repeat_visitors",
    "cookieless_events",
]
RATES = ["aov", "session_conversion_rate", "abandonment_rate", "no_click_rate", "engagement_rate", "bounce_rate"]
# A session's later part is at most this many days after its start (sql/_day_sessions.sql).
SESSION_SPAN_DAYS = 2


def _ratio(numerator, denominator):
    return float(numerator) / float(denominator) if denominator else None


def with_rates(row: dict) -> dict:
    """The stored figures of one metrics row: counts as computed, plus the derived ones."""
    out = dict(row)
    out["bounced_sessions"] = row["sessions"] - row["engaged_sessions"]  # GA4: sessions that were not engaged
    out["net_revenue"] = row["revenue"] - row["refunds"]
    out["aov"] = round(float(row["revenue"]) / row["transactions"], 2) if row["transactions"] else None
    out["session_conversion_rate"] = _ratio(row["converting_sessions"], row["sessions"])
    out["abandonment_rate"] = _ratio(row["carts_abandoned"], row["carts_created"])
    out["no_click_rate"] = _ratio(row["no_click_searches"], row["searches"])
    out["engagement_rate"] = _ratio(row["engaged_sessions"], row["sessions"])
    out["bounce_rate"] = _ratio(out["bounced_sessions"], row["sessions"])
    return out


def days_to_compute(conn: Connection, tenant_id: str, day: dt.date, config: TenantConfig) -> list[dt.date]:
    """`day` and the loaded days whose figures read `day`'s rows: the days before it whose
    sessions or cart windows reach into it, and later days holding a re-fire of one of
    its transactions (that copy stops counting there once `day` is loaded)."""
    reach = max(SESSION_SPAN_DAYS, window_days(config))
    rows = (
        conn.execute(
            sa.text("""
        SELECT event_date FROM tenant_data.data_availability
        WHERE tenant_id = :tenant AND status IN ('complete', 'provisional')
          AND (event_date BETWEEN CAST(:day AS date) - :reach AND :day
               OR event_date IN (
                 SELECT later.event_date FROM tenant_data.purchases p
                 JOIN tenant_data.purchases later
                   ON later.tenant_id = :tenant AND later.transaction_id = p.transaction_id
                  AND later.event_date > p.event_date
                 WHERE p.tenant_id = :tenant AND p.event_date = :day AND p.id_status = 'ok'))
    """),
            {"tenant": tenant_id, "day": day, "reach": reach},
        )
        .scalars()
        .all()
    )
    return sorted(set(rows) | {day})


def loaded_days(conn: Connection, tenant_id: str, days) -> set[dt.date]:
    """Those of `days` whose GA4 data is loaded (metrics exist only for loaded days)."""
    if not days:
        return set()
    return set(
        conn.execute(
            sa.text(
                "SELECT event_date FROM tenant_data.data_availability WHERE tenant_id = :tenant "
                "AND status IN ('complete', 'provisional') AND event_date IN :days"
            ).bindparams(sa.bindparam("days", expanding=True)),
            {"tenant": tenant_id, "days": sorted(days)},
        ).scalars()
    )


def compute(conn: Connection, tenant_id: str, day: dt.date, config: TenantConfig) -> dict:
    """Replace the day's rows of daily_metrics, location_daily_metrics, search_terms_daily
    and bounced_pages_daily; returns {'tenant': row, 'branches': [rows]}."""
    params = {
        "tenant": tenant_id,
        "day": day,
        **rule_params(config),
        "purchases_from": day,
        "purchases_to": day + dt.timedelta(days=max(SESSION_SPAN_DAYS, window_days(config))),
    }
    rows = [dict(r) for r in conn.execute(sa.text(sql("metrics")), params).mappings()]
    sketches: dict[str | None, list] = {}
    for r in conn.execute(sa.text(sql("users_sketch")), params):
        sketches.setdefault(r.branch_code, []).append((r.register, r.rank))
    for r in rows:
        r["users_sketch"] = users.sketch(sketches.get(r["branch_code"], ()))
    rows = [with_rates(r) for r in rows]
    tenant_row = next(r for r in rows if r["branch_code"] is None)
    branch_rows = [r for r in rows if r["branch_code"] is not None]
    columns = COUNTS + RATES + ["users_sketch"]
    for table in ("daily_metrics", "location_daily_metrics", "search_terms_daily", "bounced_pages_daily"):
        conn.execute(
            sa.text(f"DELETE FROM tenant_data.{table} WHERE tenant_id = :tenant AND event_date = :d"),
            {"tenant": tenant_id, "d": day},
        )
    insert_cols = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    conn.execute(
        sa.text(
            f"INSERT INTO tenant_data.daily_metrics (tenant_id, event_date, {insert_cols}) "
            f"VALUES (:tenant_id, :event_date, {values})"
        ),
        {"tenant_id": tenant_id, "event_date": day, **tenant_row},
    )
    if branch_rows:
        conn.execute(
            sa.text(
                f"INSERT INTO tenant_data.location_daily_metrics "
                f"(tenant_id, event_date, branch_code, {insert_cols}) "
                f"VALUES (:tenant_id, :event_date, :branch_code, {values})"
            ),
            [{"tenant_id": tenant_id, "event_date": day, **r} for r in branch_rows],
        )
    conn.execute(
        sa.text(
            "INSERT INTO tenant_data.search_terms_daily (tenant_id, event_date, branch_code, search_term, searches, "
            "searching_users, sessions, no_click_sessions, no_result_searches, cart_sessions, purchase_sessions) "
            f"SELECT :tenant, CAST(:day AS date), * FROM ({sql('search_terms')}) t"
        ),
        params,
    )
    conn.execute(
        sa.text(
            "INSERT INTO tenant_data.bounced_pages_daily (tenant_id, event_date, landing_page, sessions, "
            f"single_page_sessions) SELECT :tenant, CAST(:day AS date), * FROM ({sql('entry_pages')}) t"
        ),
        params,
    )
    return {"tenant": tenant_row, "branches": branch_rows}
