"""What every data page shows the same way: empty states, CSV downloads, charts."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import streamlit as st

from streamlit_app.lib import context, data, labels, numbers

NO_GA4_DATA = (
    "No GA4 data loaded for these dates yet — the pipeline loads each day after GA4 exports it "
    "(usually the next morning) and then computes the day's metrics and tasks; see the **Data** page for "
    "which days are loaded, and pick other dates in the sidebar."
)
NO_METRICS = NO_GA4_DATA


def no_branch_metrics(ctx: context.Context) -> str:
    return (
        f"No figures for branch **{ctx.branch_filter}** in these dates — it had no sessions or orders, or "
        "these days are not loaded yet (see the **Data** page). Clear the branch filter in the sidebar to see "
        "the whole tenant."
    )


def empty_state(message: str = NO_GA4_DATA) -> None:
    st.info(message, icon=":material/hourglass_empty:")


# A spreadsheet reads a cell starting with one of these as a formula (OWASP "CSV
# injection"); search terms and names come from site visitors and tenants.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defused(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(df: pd.DataFrame) -> bytes:
    """`df` as UTF-8 CSV, every text cell that a spreadsheet would run as a formula
    prefixed with an apostrophe (numbers stay numbers: -5 is not text)."""
    safe = df.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(_defused)
    safe.columns = [_defused(str(c)) for c in safe.columns]
    return safe.to_csv(index=False).encode("utf-8")


def download(df: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """A CSV download of exactly the data a chart or table shows, named by tenant and dates."""
    ctx = context.current()
    branch = "_" + re.sub(r"[^A-Za-z0-9_.-]+", "-", ctx.branch_filter) if ctx.branch_filter else ""
    file_name = f"{ctx.tenant_id}{branch}_{name}_{ctx.start:%Y%m%d}-{ctx.end:%Y%m%d}.csv"
    st.download_button(
        label, csv_bytes(df), file_name=file_name, mime="text/csv", key=f"download-{name}", icon=":material/download:"
    )


def table(df: pd.DataFrame, name: str, empty: str, **kwargs) -> None:
    """A dataframe with its CSV download, or the empty-state message."""
    if df.empty:
        empty_state(empty)
        return
    kwargs["column_config"] = labels.column_config(df, kwargs.get("column_config"))
    st.dataframe(df, hide_index=True, width="stretch", key=f"table-{name}", **kwargs)
    download(df, name)


def currency(tenant_id: str) -> str:
    from streamlit_app.lib import pagedata

    return pagedata.reporting_currency(tenant_id)


def metric(
    cell, label: str, value: float | int | None, kind: str = "count", delta: str | None = None, help: str = ""
) -> None:
    """A KPI tile: compact value (`money` in the tenant's currency, `count`), the exact one
    in the tooltip, so no value is cut off ("2,898,7…")."""
    if kind == "money":
        code = currency(context.current().tenant_id)
        shown, exact = numbers.money(value, code), numbers.money_exact(value, code)
    elif kind == "rate":
        shown = exact = "–" if value is None else f"{value:.1%}"
    else:
        shown, exact = numbers.count(value), numbers.count_exact(value)
    cell.metric(label, shown, delta, help=(help + numbers.exact_note(shown, exact)).strip() or None)


def provisional_days(ctx: context.Context) -> list[dt.date]:
    """Days of the dates GA4 may still change (intraday stand-ins, days within 72 h)."""
    days = data.fetch(ctx.tenant_id, "data_availability", start=ctx.start, end=ctx.end)
    if days.empty:
        return []
    return sorted(pd.to_datetime(days.loc[days["status"] == "provisional", "event_date"]).dt.date)


def daily_line(df: pd.DataFrame, y: str, title: str, color: str | None = None, yformat: str | None = None):
    """A line per day over the whole selected range: a day without figures (not loaded)
    is a gap, never a straight line across it, and provisional days are shaded."""
    import plotly.express as px

    ctx = context.current()
    full = pd.date_range(ctx.start, ctx.end, freq="D", name="event_date")
    frame = df.copy()
    frame["event_date"] = pd.to_datetime(frame["event_date"])
    if color:
        index = pd.MultiIndex.from_product([full, sorted(frame[color].dropna().unique())], names=["event_date", color])
        frame = frame.set_index(["event_date", color])[[y]].reindex(index).reset_index()
    else:
        frame = frame.set_index("event_date")[[y]].reindex(full).reset_index()
    frame[y] = frame[y].astype(object).where(frame[y].notna(), None)
    fig = px.line(frame, x="event_date", y=y, color=color, title=title, markers=True)
    fig.update_traces(connectgaps=False)
    if yformat:
        fig.update_yaxes(tickformat=yformat)
    for i, day in enumerate(provisional_days(ctx)):
        middle = pd.Timestamp(day)
        fig.add_vrect(
            x0=middle - pd.Timedelta(hours=12),
            x1=middle + pd.Timedelta(hours=12),
            fillcolor="orange",
            opacity=0.15,
            line_width=0,
            annotation_text="provisional" if i == 0 else None,
            annotation_position="top left",
        )
    return fig


def chart(fig, df: pd.DataFrame, name: str) -> None:
    """A plotly chart (axes, legend and hover in words) with a CSV download of its data."""
    labels.figure(fig)
    fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=320)
    st.plotly_chart(fig, width="stretch", key=f"chart-{name}")
    download(df, name)


def sandboxed_html(html: str, height: int = 900) -> None:
    """Show an HTML document (an email) in an iframe sandboxed without scripts or same-origin.

    Streamlit's own component iframe runs scripts with the app's origin, so the document is
    not put there directly but into a nested `<iframe sandbox srcdoc=…>`: whatever the
    sanitizer might miss cannot run, nor reach the dashboard's page or session (finding 2).
    """
    import html as html_lib

    import streamlit.components.v1 as components

    frame = (
        f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" '
        f'title="email preview" style="width:100%;height:{height - 20}px;border:1px solid #ddd;background:#fff" '
        f'srcdoc="{html_lib.escape(html, quote=True)}"></iframe>'
    )
    components.html(frame, height=height)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def plain(text: str) -> str:
    """`text` escaped for Streamlit's Markdown (captions, alerts): shown as typed, with no
    link, image, HTML, formatting or `:material/icon:` a visitor or a tenant put there."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")
