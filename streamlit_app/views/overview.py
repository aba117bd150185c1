"""Overview: the period's KPIs against the previous period of equal length, and daily trends.

From the stored daily figures (daily_metrics; location_daily_metrics under a branch
filter). Formulas: `lib/metrics.py`.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ga_intel.insights import change
from streamlit_app.lib import branch_filter, context, metrics, numbers, pagedata, ui, widgets

ctx = context.current()
st.title("Overview")
prev_start, prev_end = metrics.previous_period(ctx.start, ctx.end)
st.caption(
    f"{ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y}, compared with "
    f"{prev_start:%b %d, %Y} – {prev_end:%b %d, %Y} · {branch_filter.describe(ctx)} · "
    "formulas in the help of each figure"
)

with st.spinner("Loading metrics…"), ui.stop_on_error():
    loaded = pagedata.overview(ctx)
    days = loaded.days
    now = metrics.kpis(loaded.days, loaded.users)
    before = metrics.kpis(loaded.previous, loaded.previous_users)

if now.empty:
    widgets.empty_state(widgets.NO_METRICS if not ctx.branch_filter else widgets.no_branch_metrics(ctx))
    st.stop()


def _pct_delta(current, previous) -> str | None:
    if before.empty:  # nothing loaded in the previous period: no comparison, not "new"
        return None
    said = change.describe(current, previous)  # 'new' / '×N' from a near-zero base, never +30180%
    return None if said is None else f"{said} vs previous"


def _pp_delta(current, previous) -> str | None:
    if current is None or previous is None:
        return None
    return f"{(current - previous) * 100:+.1f} pp vs previous"


no_previous = "no data in the previous period to compare with" if before.empty else None
refunds = numbers.money_exact(now.refunds, widgets.currency(ctx.tenant_id))
figures = [
    (
        "Revenue",
        now.revenue,
        "money",
        _pct_delta(now.revenue, before.revenue),
        "Purchase revenue, each transaction_id once, on the first day it appears (plus purchases without an id), "
        "in the tenant's reporting currency.",
    ),
    (
        "Net revenue",
        now.net_revenue,
        "money",
        _pct_delta(now.net_revenue, before.net_revenue),
        f"Revenue minus refunds ({refunds}), refunds counted on the day of the refund.",
    ),
    (
        "Transactions",
        now.transactions,
        "count",
        _pct_delta(now.transactions, before.transactions),
        "Number of purchases (transactions).",
    ),
    ("AOV", now.aov, "money", _pct_delta(now.aov, before.aov), "Average order value = revenue / transactions."),
    (
        "Sessions",
        now.sessions,
        "count",
        _pct_delta(now.sessions, before.sessions),
        "GA4 sessions (user_pseudo_id, stream, ga_session_id), each counted once, on the day it started.",
    ),
    (
        "Engagement rate",
        now.engagement_rate,
        "rate",
        _pp_delta(now.engagement_rate, before.engagement_rate),
        "Engaged sessions / sessions. GA4's bounce rate is 1 − this. Delta in percentage points.",
    ),
    (
        "Users",
        now.users,
        "count",
        _pct_delta(now.users, before.users),
        "Distinct active users over the whole period (HyperLogLog, as GA4 counts users over a range).",
    ),
    (
        "New users",
        now.new_users,
        "count",
        _pct_delta(now.new_users, before.new_users),
        "Users with their first visit in the period.",
    ),
    (
        "Conversion rate",
        now.conversion_rate,
        "rate",
        _pp_delta(now.conversion_rate, before.conversion_rate),
        "Sessions with a purchase / sessions. Delta in percentage points.",
    ),
    (
        "Cookieless events",
        now.cookieless_events,
        "count",
        _pct_delta(now.cookieless_events, before.cookieless_events),
        "Events without a session (consent-mode pings, no ga_session_id). Not sessions or users; their purchases "
        "count in revenue.",
    ),
]
for start in range(0, len(figures), 5):
    for cell, (label, value, kind, delta, help_text) in zip(st.columns(5), figures[start : start + 5]):
        widgets.metric(
            cell,
            label,
            value,
            kind,
            delta,
            help=help_text + (f" ({no_previous})" if no_previous and delta is None else ""),
        )

kpi_table = pd.DataFrame(
    [
        {"metric": name, "current": getattr(now, attr), "previous": getattr(before, attr)}
        for name, attr in (
            ("revenue", "revenue"),
            ("refunds", "refunds"),
            ("net_revenue", "net_revenue"),
            ("transactions", "transactions"),
            ("aov", "aov"),
            ("sessions", "sessions"),
            ("engaged_sessions", "engaged_sessions"),
            ("engagement_rate", "engagement_rate"),
            ("users", "users"),
            ("new_users", "new_users"),
            ("converting_sessions", "converting_sessions"),
            ("conversion_rate", "conversion_rate"),
            ("cookieless_events", "cookieless_events"),
        )
    ]
)
kpi_table.insert(1, "period", f"{ctx.start}..{ctx.end}")
kpi_table.insert(2, "previous_period", f"{prev_start}..{prev_end}")
kpi_table.insert(3, "branch", ctx.branch_filter or "all")
widgets.download(kpi_table, "overview_kpis", label="Download KPIs (CSV)")

st.subheader("Trends by day")
trend = days[["event_date", "revenue", "transactions", "aov", "sessions", "converting_sessions", "conversion_rate"]]
left, right = st.columns(2)
with left:
    widgets.chart(
        widgets.daily_line(trend, "revenue", "Revenue"),
        trend[["event_date", "revenue", "transactions", "aov"]],
        "revenue_by_day",
    )
with right:
    widgets.chart(
        widgets.daily_line(trend, "sessions", "Sessions"), trend[["event_date", "sessions"]], "sessions_by_day"
    )
fig = widgets.daily_line(trend, "conversion_rate", "Session conversion rate", yformat=".1%")
widgets.chart(fig, trend[["event_date", "sessions", "converting_sessions", "conversion_rate"]], "conversion_by_day")

st.subheader("Entry pages with single-page sessions")
st.caption(
    "Landing pages by sessions that saw at most one page (the seed system's \"bounced\" entry pages; GA4's "
    "bounce is a session that was not engaged). Whole tenant, whatever the branch filter."
)
widgets.table(loaded.entry_pages, "entry_pages", "No landing pages in these dates.")
