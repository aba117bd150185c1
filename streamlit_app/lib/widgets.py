"""What every data page shows the same way: empty states, CSV downloads, charts."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from streamlit_app.lib import context

NO_GA4_DATA = (
    "No GA4 data loaded for these dates yet — the pipeline loads each day after GA4 exports it "
    "(usually the next morning) and then computes the day's metrics and tasks; see the **Data** page for "
    "which days are loaded, and pick other dates in the sidebar."
)
NO_METRICS = NO_GA4_DATA


def no_branch_metrics(ctx: context.Context) -> str:
    return (f"No figures for branch **{ctx.branch_filter}** in these dates — it had no sessions or orders, or "
            "these days are not loaded yet (see the **Data** page). Clear the branch filter in the sidebar to see "
            "the whole tenant.")


def empty_state(message: str = NO_GA4_DATA) -> None:
    st.info(message, icon=":material/hourglass_empty:")


def download(df: pd.DataFrame, name: str, label: str = "Download CSV") -> None:
    """A CSV download of exactly the data a chart or table shows, named by tenant and dates."""
    ctx = context.current()
    branch = "_" + re.sub(r"[^A-Za-z0-9_.-]+", "-", ctx.branch_filter) if ctx.branch_filter else ""
    file_name = f"{ctx.tenant_id}{branch}_{name}_{ctx.start:%Y%m%d}-{ctx.end:%Y%m%d}.csv"
    st.download_button(label, df.to_csv(index=False).encode("utf-8"), file_name=file_name,
                       mime="text/csv", key=f"download-{name}", icon=":material/download:")


def table(df: pd.DataFrame, name: str, empty: str, **kwargs) -> None:
    """A dataframe with its CSV download, or the empty-state message."""
    if df.empty:
        empty_state(empty)
        return
    st.dataframe(df, hide_index=True, width="stretch", key=f"table-{name}", **kwargs)
    download(df, name)


def chart(fig, df: pd.DataFrame, name: str) -> None:
    """A plotly chart with a CSV download of its data."""
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

    frame = (f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" '
             f'title="email preview" style="width:100%;height:{height - 20}px;border:1px solid #ddd;background:#fff" '
             f'srcdoc="{html_lib.escape(html, quote=True)}"></iframe>')
    components.html(frame, height=height)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$])")


def plain(text: str) -> str:
    """`text` escaped for Streamlit's Markdown (captions, alerts): shown as typed, with no
    link, image, HTML, formatting or `:material/icon:` a visitor or a tenant put there."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text)).replace("\n", "  \n")
