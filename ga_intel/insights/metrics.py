"""Compute and replace one tenant × day of metrics. Every formula lives in sql/metrics.sql
and is documented in docs/METRICS.md; rates are derived here from those counts only."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel.insights.queries import rule_params, sql
from ga_intel.tenancy.tenant_file import RuleSettings

COUNTS = ["revenue", "transactions", "purchasers", "sessions", "active_users", "converting_sessions",
          "carts_created", "carts_abandoned", "recovered_revenue", "searches", "no_click_searches",
          "no_result_searches", "repeat_visitors", "bounced_sessions"]


def _ratio(numerator, denominator):
    return float(numerator) / float(denominator) if denominator else None


def with_rates(row: dict) -> dict:
    out = dict(row)
    out["aov"] = round(float(row["revenue"]) / row["transactions"], 2) if row["transactions"] else None
    out["session_conversion_rate"] = _ratio(row["converting_sessions"], row["sessions"])
    out["abandonment_rate"] = _ratio(row["carts_abandoned"], row["carts_created"])
    out["no_click_rate"] = _ratio(row["no_click_searches"], row["searches"])
    out["bounce_rate"] = _ratio(row["bounced_sessions"], row["sessions"])
    return out


def compute(conn: Connection, tenant_id: str, day: dt.date, rules: RuleSettings) -> dict:
    params = {"tenant": tenant_id, "day": day, **rule_params(rules)}
    rows = [with_rates(dict(r)) for r in conn.execute(sa.text(sql("metrics")), params).mappings()]
    tenant_row = next(r for r in rows if r["branch_code"] is None)
    branch_rows = [r for r in rows if r["branch_code"] is not None]
    columns = COUNTS + ["aov", "session_conversion_rate", "abandonment_rate", "no_click_rate", "bounce_rate"]
    for table in ("daily_metrics", "location_daily_metrics", "search_terms_daily", "bounced_pages_daily"):
        conn.execute(sa.text(f"DELETE FROM tenant_data.{table} WHERE tenant_id = :t AND event_date = :d"),
                     {"t": tenant_id, "d": day})
    insert_cols = ", ".join(columns)
    values = ", ".join(f":{c}" for c in columns)
    conn.execute(sa.text(f"INSERT INTO tenant_data.daily_metrics (tenant_id, event_date, {insert_cols}) "
                         f"VALUES (:tenant_id, :event_date, {values})"),
                 {"tenant_id": tenant_id, "event_date": day, **tenant_row})
    if branch_rows:
        conn.execute(sa.text(f"INSERT INTO tenant_data.location_daily_metrics "
                             f"(tenant_id, event_date, branch_code, {insert_cols}) "
                             f"VALUES (:tenant_id, :event_date, :branch_code, {values})"),
                     [{"tenant_id": tenant_id, "event_date": day, **r} for r in branch_rows])
    conn.execute(sa.text(
        "INSERT INTO tenant_data.search_terms_daily (tenant_id, event_date, branch_code, search_term, searches, "
        "searching_users, sessions, no_click_sessions, no_result_searches, cart_sessions, purchase_sessions) "
        f"SELECT :tenant, CAST(:day AS date), * FROM ({sql('search_terms')}) t"), params)
    conn.execute(sa.text(
        "INSERT INTO tenant_data.bounced_pages_daily (tenant_id, event_date, landing_page, sessions, bounced_sessions) "
        "SELECT :t, :d, landing_page, count(*), count(*) FILTER (WHERE page_views <= 1) "
        "FROM tenant_data.sessions WHERE tenant_id = :t AND event_date = :d AND landing_page IS NOT NULL "
        "GROUP BY landing_page"), {"t": tenant_id, "d": day})
    return {"tenant": tenant_row, "branches": branch_rows}
