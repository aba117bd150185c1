"""Email: the delivery ledger, per-report status, retrying failed deliveries, and a
preview of any branch's report rendered from the current data.

Admins see every report and may retry; a manager sees their own branch's reports (a
tenant manager without a branch sees all). In `make dev` the demo's SMTP sink keeps what
it received, and this page lists it, so "sent" can be checked by eye.
"""

from __future__ import annotations

import datetime as dt
import os
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pandas as pd
import plotly.express as px
import streamlit as st

from ga_intel.email.sanitize import clean_html
from streamlit_app.lib import context, data, ui, widgets

SINK_DIR_ENV = "GA_INTEL_SMTP_SINK_DIR"  # set by `make dev` for the demo's SMTP sink

ctx = context.current()
st.title("Email reports")
if ctx.role not in ("admin", "manager"):
    st.warning("Email reports are for tenant admins and managers.")
    st.stop()

# A branch manager sees their branch only, whatever the branch filter says.
branch = ctx.branch if ctx.role == "manager" and ctx.branch else ctx.branch_filter
st.caption(
    f"Reports for **{ctx.tenant_id}**, {ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y}"
    + (f" · branch **{branch}**" if branch else "")
)

with st.spinner("Loading the delivery ledger…"), ui.stop_on_error():
    reports = data.query("email_reports", start=ctx.start, end=ctx.end, branch=branch)
    ledger = data.query("email_deliveries", start=ctx.start, end=ctx.end, branch=branch)

totals = ledger["status"].value_counts() if not ledger.empty else pd.Series(dtype=int)
cells = st.columns(4)
for cell, status in zip(cells, ("sent", "failed", "skipped", "queued")):
    cell.metric(
        status.capitalize(), int(totals.get(status, 0) + (totals.get("sending", 0) if status == "queued" else 0))
    )

if ledger.empty:
    widgets.empty_state(
        "No report was planned for these dates yet. Reports go out each morning at the tenant's send hour "
        "(Settings → Email reports) once the day's tasks are computed; `ga-intel email send --tenant "
        f"{ctx.tenant_id} --date YYYY-MM-DD` sends one now."
    )
else:
    st.subheader("Reports")
    per_day = ledger.groupby(["report_date", "status"]).size().reset_index(name="deliveries")
    widgets.chart(
        px.bar(
            per_day,
            x="report_date",
            y="deliveries",
            color="status",
            title="Deliveries per report day",
            color_discrete_map={
                "sent": "#2e7d32",
                "failed": "#c62828",
                "skipped": "#9e9e9e",
                "queued": "#f9a825",
                "sending": "#f9a825",
            },
        ),
        per_day,
        "email_deliveries_per_day",
    )
    widgets.table(reports, "email_reports", "No reports.")
    st.subheader("Deliveries")
    statuses = st.multiselect("Status", ["sent", "failed", "skipped", "queued", "sending"], key="email-status")
    shown = ledger[ledger["status"].isin(statuses)] if statuses else ledger
    widgets.table(shown, "email_ledger", "No deliveries with that status.")

# --- retry ------------------------------------------------------------------------------

failed_days = (
    sorted({d for d in ledger.loc[ledger["status"] == "failed", "report_date"]}, reverse=True)
    if not ledger.empty
    else []
)
if failed_days and ctx.is_admin:
    st.subheader("Retry failed deliveries")
    st.caption(
        "Sends again only what the ledger marks failed; nothing marked sent goes out twice. "
        "Same as `ga-intel email retry`."
    )
    day = st.selectbox("Report day", failed_days, key="email-retry-day")
    if st.button("Retry failed", type="primary", key="email-retry"):
        from ga_intel.email.deliver import send_day

        with st.spinner("Sending…"), ui.stop_on_error():
            outcome = send_day(ctx.tenant_id, day, force=True, retry_failed=True)
        data.clear_cache()
        (st.success if not outcome.failed else st.error)(outcome.summary())

# --- preview ----------------------------------------------------------------------------

st.subheader("Preview")
with ui.stop_on_error():
    branches = data.query("SELECT warehouse_code, warehouse_name FROM tenant_data.locations ORDER BY warehouse_code")
choices = {
    f"{r.warehouse_name} ({r.warehouse_code})": r.warehouse_code
    for r in branches.itertuples()
    if not branch or r.warehouse_code == branch
}
if ctx.is_admin or not ctx.branch:
    choices = {"Tenant summary": "summary", **choices}
if not choices:
    widgets.empty_state("No branches yet: load the master data (Locations_List.xlsx) first.")
else:
    left, right = st.columns(2)
    picked = left.selectbox("Report", list(choices), key="email-preview-branch")
    day = right.date_input("Report day", value=ctx.end, max_value=dt.date.today(), key="email-preview-day")
    if st.button("Render preview", key="email-preview"):
        from ga_intel.email.preview import preview

        with st.spinner("Rendering…"), ui.stop_on_error():
            rendered = preview(ctx.tenant_id, choices[picked], day)
        st.text(f"Subject: {rendered.subject}")  # a tenant's subject is text, not Markdown
        widgets.sandboxed_html(clean_html(rendered.html))
        st.download_button(
            "Download HTML",
            rendered.html.encode(),
            file_name=f"report-{choices[picked]}-{day}.html",
            mime="text/html",
            key="email-preview-download",
        )

# --- the demo's SMTP sink ---------------------------------------------------------------

sink = os.environ.get(SINK_DIR_ENV)
if sink and ctx.is_admin:
    st.subheader("Received by the local SMTP sink")
    inbox = Path(sink) / "messages"
    files = sorted(inbox.glob("*.eml"), reverse=True)[:200] if inbox.is_dir() else []
    if not files:
        widgets.empty_state(f"The demo SMTP sink has received nothing yet ({inbox}).")
    else:
        parser = BytesParser(policy=policy.default)
        # The sink is shared by every tenant: show only messages this tenant's ledger sent
        # (read through row-level security), never another tenant's mail.
        with ui.stop_on_error():
            ours = set(
                data.query("SELECT message_id FROM tenant_data.email_deliveries WHERE message_id IS NOT NULL")[
                    "message_id"
                ].str.strip()
            )
        rows = []
        for f in files:
            with f.open("rb") as fh:
                headers = parser.parse(fh, headersonly=True)
            if str(headers["Message-ID"] or "").strip() not in ours:
                continue
            rows.append({"file": f.name, "subject": headers["Subject"], "to": headers["To"], "date": headers["Date"]})
        received = pd.DataFrame(rows, columns=["file", "subject", "to", "date"]).head(200)
        if received.empty:
            widgets.empty_state("The demo SMTP sink has received nothing from this tenant yet.")
            st.stop()
        widgets.table(received, "smtp_sink_messages", "Nothing received.")
        name = st.selectbox("Show message", received["file"], key="email-sink-message")
        if name not in set(received["file"]):
            st.stop()
        message = parser.parsebytes((inbox / name).read_bytes())
        body = message.get_body(("html", "plain"))
        if body is not None and body.get_content_type() == "text/html":
            widgets.sandboxed_html(clean_html(body.get_content()))
        elif body is not None:
            st.code(body.get_content())
