"""Data: which days of GA4 export are loaded for this tenant, and the Dagster run of each.

One row per day of the selected range from `tenant_data.data_availability`; a day with no
row there was never loaded ("not loaded"). Run links (admins only: the Dagster UI has no sign-in) point at
the Dagster UI, `GA_INTEL_DAGSTER_URL` (default http://127.0.0.1:3000).
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from ga_intel.orchestration.submit import dagster_url
from ga_intel.reads.days import NOT_LOADED
from streamlit_app.lib import context, data, labels, pagedata, ui, widgets

STATUS_COLORS = {
    "complete": "#2e7d32",
    "provisional": "#f9a825",
    "missing": "#9e9e9e",
    "failed": "#c62828",
    NOT_LOADED: "#e0e0e0",
}

ctx = context.current()
st.title("Data")
st.caption(
    f"GA4 export days loaded for **{ctx.tenant_id}**, {ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y}"
    + (
        " · a day is loaded for every branch at once, so the branch filter does not apply here"
        if ctx.branch_filter
        else ""
    )
)

# The Dagster UI has no sign-in of its own and shows every tenant's runs: only admins get
# links to it (and the operator puts it behind authentication: docs/DEPLOYMENT.md).
dagster = dagster_url() if ctx.is_admin else None

with st.spinner("Loading data availability…"), ui.stop_on_error():
    loaded = pagedata.data_availability(ctx)  # one row per day, `not loaded` where none was


def _rows_written(value) -> str:
    if not isinstance(value, dict) or not value:
        return ""
    return ", ".join(
        f"{table}: {rows:,}" if isinstance(rows, int) else f"{table}: {rows}" for table, rows in sorted(value.items())
    )


days = loaded.copy()
days["rows_written"] = days["rows_written"].map(_rows_written)
days["run"] = days["run_id"].map(
    lambda run_id: f"{dagster}/runs/{run_id}" if dagster and isinstance(run_id, str) and run_id else None
)
days = days[
    [
        "event_date",
        "status",
        "bq_row_count",
        "rows_written",
        "run_id",
        "run",
        "updated_at",
        "message",
        "source_table",
        "bq_modified_at",
    ]
]

counts = days["status"].value_counts()
cells = st.columns(5)
for cell, status in zip(cells, ("complete", "provisional", "missing", "failed", NOT_LOADED)):
    cell.metric(status.capitalize(), int(counts.get(status, 0)))

if (loaded["status"] == NOT_LOADED).all():
    widgets.empty_state(
        "No day of these dates has been loaded yet. The pipeline loads each day after GA4 exports it; in the "
        f"[Dagster UI]({dagster}) materialize the tenant's `ga4_day` partitions, or wait for the daily schedule."
        if dagster
        else "No day of these dates has been loaded yet. The pipeline loads each day after GA4 exports it and the "
        "daily schedule runs; your tenant's admin can start a load."
    )

st.subheader("Calendar")
calendar = days[["event_date", "status"]].copy()
calendar["date"] = pd.to_datetime(calendar["event_date"])
calendar["week"] = calendar["date"] - pd.to_timedelta(calendar["date"].dt.weekday, unit="D")
calendar["weekday"] = calendar["date"].dt.day_name().str[:3]
fig = px.scatter(
    calendar,
    x="week",
    y="weekday",
    color="status",
    color_discrete_map=STATUS_COLORS,
    hover_data={"event_date": True, "status": True, "week": False, "weekday": False},
    category_orders={"weekday": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "status": list(STATUS_COLORS)},
    title="Load status by day",
)
fig.update_traces(marker=dict(symbol="square", size=18))
fig.update_xaxes(title="week of", tick0=calendar["week"].min(), dtick=7 * 24 * 3600 * 1000, tickformat="%b %d")
fig.update_yaxes(title=None)
widgets.chart(fig, calendar[["event_date", "status"]], "data_calendar")

st.subheader("Days")
st.dataframe(
    days.sort_values("event_date", ascending=False).drop(columns=[] if dagster else ["run"]),
    hide_index=True,
    width="stretch",
    key="table-data-days",
    column_config=labels.column_config(
        days,
        {
            "event_date": st.column_config.DateColumn("Day"),
            "bq_row_count": st.column_config.NumberColumn("BigQuery rows", help="rows of the day's events_ table"),
            "rows_written": st.column_config.TextColumn("rows written", help="rows written per tenant_data table"),
            **(
                {
                    "run": st.column_config.LinkColumn(
                        "Dagster run",
                        display_text="open run",
                        help=f"the run that loaded the day, in the Dagster UI ({dagster})",
                    )
                }
                if dagster
                else {}
            ),
            "updated_at": st.column_config.DatetimeColumn("updated"),
        },
    ),
)
widgets.download(days.drop(columns=[] if dagster else ["run"]), "data_availability")


def runs_table(statement: str, name: str, empty: str, **params) -> None:
    """A table of rows with a `run_id`, each linked to its run in the Dagster UI."""
    with ui.stop_on_error():
        rows = data.query(statement, **params)
    if not dagster:
        widgets.table(rows, name, empty)
        return
    if not rows.empty:
        rows["run"] = rows["run_id"].map(lambda run_id: f"{dagster}/runs/{run_id}")
    widgets.table(
        rows, name, empty, column_config={"run": st.column_config.LinkColumn("Dagster run", display_text="open run")}
    )


st.subheader("Pipeline failures")
st.caption(
    "Failed runs for this tenant. Admins get one email per failure type per day "
    "(`tenant_failure_alerts`); later failures of the same type that day are listed here only."
)
runs_table("data_failures", "data_failures", "No failed runs in these dates.", start=ctx.start, end=ctx.end)

st.subheader("Last runs")
runs_table("data_last_runs", "data_last_runs", "Nothing has run for this tenant yet.")

st.subheader("Master-data files")
with ui.stop_on_error():
    files = data.query("data_master_files")
widgets.table(
    files,
    "data_master_files",
    "No master-data file loaded yet: the hourly `master_data` run reads UserReport.xlsx and "
    "Locations_List.xlsx from the tenant's SFTP server or folder.",
)
