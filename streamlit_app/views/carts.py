"""Cart abandonment: how many carts are left, what they were worth, what came back.

- Rates over time from the stored daily figures (daily_metrics, location_daily_metrics under
  a branch filter): a cart is abandoned when its visitor bought nothing from the first add
  until the tenant's abandonment window after the last add (docs/METRICS.md).
- Value and products from the cart-recovery tasks: known customers' abandoned carts (anonymous
  carts have no one to call, so they have no task and no value here). Recovered revenue is
  the value of the cart's items in the first order, within the recovery window, that holds
  one of them; it is split into recovered after a rep's contact and recovered on its own.
- The open cart-recovery tasks of the person's work list (their role's scope, lib/task_scope.py).
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from streamlit_app.lib import branch_filter, context, metrics, pagedata, task_scope, ui, widgets

ctx = context.current()
st.title("Cart abandonment")
st.caption(f"{ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y} · {branch_filter.describe(ctx)}")

with st.spinner("Loading carts…"), ui.stop_on_error():
    loaded = pagedata.carts(ctx)
days, by_day = loaded.days, loaded.tasks_by_day

if days.empty and by_day.empty:
    widgets.empty_state(widgets.NO_METRICS if not ctx.branch_filter else widgets.no_branch_metrics(ctx))
    st.stop()

created = int(days["carts_created"].sum()) if not days.empty else 0
abandoned = int(days["carts_abandoned"].sum()) if not days.empty else 0
recovered_revenue = float(days["recovered_revenue"].sum()) if not days.empty else 0.0
after_contact = float(days["recovered_after_contact_revenue"].sum()) if not days.empty else 0.0
abandoned_value = float(by_day["value"].sum()) if not by_day.empty else 0.0
rate = metrics.ratio(abandoned, created)
cells = st.columns(6)
widgets.metric(cells[0], "Carts created", created, help="Sessions with at least one add-to-cart.")
widgets.metric(
    cells[1],
    "Carts abandoned",
    abandoned,
    help="Carts whose visitor bought nothing within the abandonment window after the last add.",
)
widgets.metric(cells[2], "Abandonment rate", rate, "rate", help="Carts abandoned / carts created.")
widgets.metric(
    cells[3],
    "Abandoned value",
    abandoned_value,
    "money",
    help="Value of known customers' abandoned carts (the cart-recovery tasks created in these dates).",
)
widgets.metric(
    cells[4],
    "Recovered after contact",
    after_contact,
    "money",
    help="Value of the cart items bought back after a rep had taken the task up (in progress or done "
    "before the order), by the day of the order: what the follow-ups bring.",
)
widgets.metric(
    cells[5],
    "Recovered on its own",
    recovered_revenue - after_contact,
    "money",
    help="Value of the cart items the customer bought back without a rep's contact first.",
)

if days.empty:
    widgets.empty_state("No daily cart figures for these dates yet (metrics not computed).")
else:
    st.subheader("Abandonment over time")
    trend = days[["event_date", "carts_created", "carts_abandoned", "abandonment_rate", "recovered_revenue"]]
    left, right = st.columns(2)
    with left:
        fig = widgets.daily_line(trend, "abandonment_rate", "Abandonment rate", yformat=".1%")
        widgets.chart(
            fig, trend[["event_date", "carts_created", "carts_abandoned", "abandonment_rate"]], "carts_abandonment_rate"
        )
    with right:
        long = trend.melt(
            id_vars="event_date", value_vars=["carts_created", "carts_abandoned"], var_name="carts", value_name="count"
        )
        widgets.chart(
            px.bar(
                long, x="event_date", y="count", color="carts", barmode="group", title="Carts created and abandoned"
            ),
            trend[["event_date", "carts_created", "carts_abandoned"]],
            "carts_created_abandoned",
        )

st.subheader("Abandoned value and recovered revenue")
if by_day.empty:
    widgets.empty_state(
        "No known customer abandoned a cart in these dates: no cart-recovery task was created. "
        "Anonymous visitors' carts count in the rate above but have no one to follow up."
    )
else:
    value = by_day.groupby("created_date", as_index=False).agg(
        carts=("carts", "sum"), value=("value", "sum"), recovered_revenue=("recovered_revenue", "sum")
    )
    value["created_date"] = pd.to_datetime(value["created_date"])
    left, right = st.columns(2)
    with left:
        long = value.melt(
            id_vars="created_date", value_vars=["value", "recovered_revenue"], var_name="figure", value_name="amount"
        )
        widgets.chart(
            px.bar(
                long,
                x="created_date",
                y="amount",
                color="figure",
                barmode="group",
                title="Abandoned value and its recovered revenue, by cart day",
            ),
            value,
            "carts_value_by_day",
        )
    with right:
        status = by_day.groupby("status", as_index=False).agg(
            carts=("carts", "sum"), value=("value", "sum"), recovered_revenue=("recovered_revenue", "sum")
        )
        widgets.chart(
            px.bar(
                status,
                x="status",
                y="carts",
                title="Cart-recovery tasks by status",
                hover_data=["value", "recovered_revenue"],
            ),
            status,
            "carts_tasks_by_status",
        )

st.subheader("Top abandoned products")
st.caption("Items of known customers' abandoned carts in these dates, by abandoned value (quantity × price).")
widgets.table(
    loaded.top_products,
    "carts_top_products",
    "No abandoned cart items in these dates.",
    column_config={
        "value": st.column_config.NumberColumn(format="%.2f"),
        "recovered_carts": st.column_config.NumberColumn(
            "recovered carts", help="carts with this item that a later order recovered"
        ),
    },
)

st.subheader("Open cart-recovery tasks")
st.caption(f"Showing {task_scope.describe(ctx)}; work them on the **Tasks** page.")
open_tasks = loaded.open_tasks
if not open_tasks.empty:
    open_tasks = open_tasks[
        [
            "priority",
            "due_date",
            "title",
            "value",
            "branch_code",
            "assigned_rep_name",
            "assigned_rep_email",
            "status",
            "created_date",
            "task_key",
        ]
    ]
widgets.table(
    open_tasks,
    "carts_open_tasks",
    "No open cart-recovery task in your work list for these dates.",
    column_config={"value": st.column_config.NumberColumn(format="%.2f")},
)
