"""Overview: the period's KPIs against the previous period of equal length, and daily trends.

From the stored daily figures (daily_metrics; location_daily_metrics under a branch
filter). Formulas: `lib/metrics.py`.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from streamlit_app.lib import branch_filter, context, metrics, pagedata, ui, widgets

ctx = context.current()
st.title("Overview")
prev_start, prev_end = metrics.previous_period(ctx.start, ctx.end)
st.caption(f"{ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y}, compared with "
           f"{prev_start:%b %d, %Y} – {prev_end:%b %d, %Y} · {branch_filter.describe(ctx)} · "
           "formulas in the help of each figure")

with st.spinner("Loading metrics…"), ui.stop_on_error():
    loaded = pagedata.overview(ctx)
    days = loaded.days
    now = metrics.kpis(loaded.days)
    before = metrics.kpis(loaded.previous)

if now.empty:
    widgets.empty_state(widgets.NO_METRICS if not ctx.branch_filter else widgets.no_branch_metrics(ctx))
    st.stop()


def _money(v: float | None) -> str:
    return "–" if v is None else f"{v:,.2f}"


def _pct_delta(current, previous) -> str | None:
    change = metrics.relative_delta(current, previous)
    return None if change is None else f"{change:+.1%} vs previous"


def _pp_delta(current, previous) -> str | None:
    if current is None or previous is None:
        return None
    return f"{(current - previous) * 100:+.1f} pp vs previous"


no_previous = "no data in the previous period to compare with" if before.empty else None
cells = st.columns(6)
figures = [
    ("Revenue", _money(now.revenue), _pct_delta(now.revenue, before.revenue),
     "Sum of purchase revenue, one row per transaction (including ones without a transaction id)."),
    ("Transactions", f"{now.transactions:,}", _pct_delta(now.transactions, before.transactions),
     "Number of purchases (transactions)."),
    ("AOV", _money(now.aov), _pct_delta(now.aov, before.aov), "Average order value = revenue / transactions."),
    ("Sessions", f"{now.sessions:,}", _pct_delta(now.sessions, before.sessions), "Number of GA4 sessions."),
    ("Active users / day", "–" if now.active_users is None else f"{now.active_users:,.1f}",
     _pct_delta(now.active_users, before.active_users),
     "Daily average of distinct GA4 device ids (user_pseudo_id) with a session that day."),
    ("Conversion rate", "–" if now.conversion_rate is None else f"{now.conversion_rate:.1%}",
     _pp_delta(now.conversion_rate, before.conversion_rate),
     "Sessions with a purchase / sessions. Delta in percentage points."),
]
for cell, (label, value, delta, help_text) in zip(cells, figures):
    cell.metric(label, value, delta, help=help_text + (f" ({no_previous})" if no_previous and delta is None else ""))

kpi_table = pd.DataFrame([
    {"metric": name, "current": getattr(now, attr), "previous": getattr(before, attr)}
    for name, attr in (("revenue", "revenue"), ("transactions", "transactions"), ("aov", "aov"),
                       ("sessions", "sessions"), ("active_users_daily_average", "active_users"),
                       ("converting_sessions", "converting_sessions"), ("conversion_rate", "conversion_rate"))
])
kpi_table.insert(1, "period", f"{ctx.start}..{ctx.end}")
kpi_table.insert(2, "previous_period", f"{prev_start}..{prev_end}")
kpi_table.insert(3, "branch", ctx.branch_filter or "all")
widgets.download(kpi_table, "overview_kpis", label="Download KPIs (CSV)")

st.subheader("Trends by day")
trend = days[["event_date", "revenue", "transactions", "aov", "sessions", "converting_sessions",
              "conversion_rate"]]
left, right = st.columns(2)
with left:
    widgets.chart(px.line(trend, x="event_date", y="revenue", title="Revenue", markers=True),
                  trend[["event_date", "revenue", "transactions", "aov"]], "revenue_by_day")
with right:
    widgets.chart(px.line(trend, x="event_date", y="sessions", title="Sessions", markers=True),
                  trend[["event_date", "sessions"]], "sessions_by_day")
fig = px.line(trend, x="event_date", y="conversion_rate", title="Session conversion rate", markers=True)
fig.update_yaxes(tickformat=".1%")
widgets.chart(fig, trend[["event_date", "sessions", "converting_sessions", "conversion_rate"]], "conversion_by_day")
