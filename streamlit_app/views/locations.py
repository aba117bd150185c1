"""Locations: the branches side by side, and the branch filter every page honours.

From location_daily_metrics (summed over the dates; rates from the sums, lib/metrics.py)
joined to the tenant's locations list. Click a row of the table, or pick a branch below
it, to filter every page to that branch; the sidebar shows the filter and clears it.
"""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from streamlit_app.lib import branch_filter, context, labels, pagedata, ui, widgets

ctx = context.current()
st.title("Locations")
st.caption(
    f"{ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y} · every branch of **{ctx.tenant_id}**; a customer's "
    "figures count at their branch, visitors without a known branch under *unattributed*"
)

with st.spinner("Loading branch figures…"), ui.stop_on_error():
    loaded = pagedata.locations(ctx)
branches, days = loaded.branches, loaded.days

if branches.empty:
    widgets.empty_state(
        "No branches yet: the tenant's locations list (Locations_List.xlsx) has not been loaded and no metrics "
        "exist for these dates. Master data is read from the tenant's SFTP server or folder; GA4 days are loaded "
        "after GA4 exports them (see the **Data** page)."
    )
    st.stop()

# A new table widget whenever the filter changes, so its row selection never outlives the filter.
TABLE_KEY = f"locations-table-{ctx.branch_filter or 'all'}"
PICK_KEY = "locations-pick"
PCT = st.column_config.NumberColumn(format="percent")
MONEY = st.column_config.NumberColumn(format="%.2f")
columns = [
    "branch_code",
    "branch_name",
    "city",
    "state",
    "revenue",
    "transactions",
    "aov",
    "sessions",
    "converting_sessions",
    "conversion_rate",
    "carts_created",
    "carts_abandoned",
    "abandonment_rate",
    "recovered_revenue",
    "searches",
    "no_click_rate",
    "repeat_visitors",
]
table = branches[columns]


def _picked_row() -> None:
    """A click on a row sets the filter (a callback: it runs only when the selection changes)."""
    rows = st.session_state[TABLE_KEY].selection.rows
    if rows:
        branch_filter.set_filter(ctx.tenant_id, str(table.iloc[rows[0]]["branch_code"]))


def _picked_from_list() -> None:
    branch_filter.set_filter(ctx.tenant_id, st.session_state[PICK_KEY] or None)


active = ctx.branch_filter
if days.empty and not (branches["sessions"].sum() or branches["transactions"].sum()):
    widgets.empty_state(
        "No branch figures for these dates yet — the tenant's branches are listed, but no GA4 day in the range has "
        "been loaded and computed (see the **Data** page)."
    )

st.subheader("Branch comparison")
st.caption("Click a row to filter every page to that branch" + (f" (now: **{active}**)." if active else "."))
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    key=TABLE_KEY,
    on_select=_picked_row,
    selection_mode="single-row",
    column_config=labels.column_config(
        table,
        {
            "branch_code": "Branch",
            "branch_name": "Branch name",
            "revenue": MONEY,
            "aov": MONEY,
            "recovered_revenue": MONEY,
            "conversion_rate": PCT,
            "abandonment_rate": PCT,
            "no_click_rate": PCT,
        },
    ),
)
widgets.download(table, "locations_comparison")

codes = list(table["branch_code"])
names = dict(zip(table["branch_code"], table["branch_name"]))
st.session_state[PICK_KEY] = active if active in codes else ""  # shows the filter as it is now
st.selectbox(
    "Filter every page to branch",
    ["", *codes],
    format_func=lambda c: branch_filter.label(c, names) if c else "All branches (no filter)",
    key=PICK_KEY,
    on_change=_picked_from_list,
)

st.subheader("Charts")
chart_data = table.copy()
chart_data["selected"] = (
    ["selected" if c == active else "other" for c in chart_data["branch_code"]] if active else "all"
)
colors = {"selected": "#d62728", "other": "#9ecae1", "all": "#1f77b4"}
left, right = st.columns(2)
with left:
    fig = px.bar(
        chart_data.sort_values("revenue", ascending=False),
        x="branch_code",
        y="revenue",
        color="selected",
        color_discrete_map=colors,
        title="Revenue by branch",
        hover_data=["branch_name"],
    )
    fig.update_layout(showlegend=False)
    widgets.chart(
        fig, chart_data[["branch_code", "branch_name", "revenue", "transactions", "aov"]], "locations_revenue"
    )
with right:
    fig = px.bar(
        chart_data.sort_values("conversion_rate", ascending=False, na_position="last"),
        x="branch_code",
        y="conversion_rate",
        color="selected",
        color_discrete_map=colors,
        title="Session conversion rate by branch",
        hover_data=["branch_name"],
    )
    fig.update_layout(showlegend=False)
    fig.update_yaxes(tickformat=".1%")
    widgets.chart(
        fig,
        chart_data[["branch_code", "branch_name", "sessions", "converting_sessions", "conversion_rate"]],
        "locations_conversion",
    )

left, right = st.columns(2)
with left:
    fig = px.bar(
        chart_data.sort_values("abandonment_rate", ascending=False, na_position="last"),
        x="branch_code",
        y="abandonment_rate",
        color="selected",
        color_discrete_map=colors,
        title="Cart abandonment rate by branch",
        hover_data=["branch_name"],
    )
    fig.update_layout(showlegend=False)
    fig.update_yaxes(tickformat=".1%")
    widgets.chart(
        fig,
        chart_data[["branch_code", "branch_name", "carts_created", "carts_abandoned", "abandonment_rate"]],
        "locations_abandonment",
    )
with right:
    if days.empty:
        widgets.empty_state("No daily branch figures in these dates yet.")
    else:
        shown = [active] if active else list(table.sort_values("revenue", ascending=False)["branch_code"].head(8))
        trend = days[days["branch_code"].isin(shown)][
            ["event_date", "branch_code", "revenue", "sessions", "transactions"]
        ]
        title = f"Revenue by day, branch {active}" if active else "Revenue by day, top 8 branches"
        widgets.chart(
            widgets.daily_line(trend, "revenue", title, color="branch_code"), trend, "locations_revenue_by_day"
        )
