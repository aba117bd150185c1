"""Words for column names, one mapping for every page: chart axes, legends, hover text
and table headers say "Abandonment rate", not `abandonment_rate`. CSV downloads keep the
column names (they are for spreadsheets and scripts).

A column missing here still reads as words (`no_click_share` → "No click share"); add it
when the automatic wording is not the right one.
"""

from __future__ import annotations

import re

import pandas as pd

LABELS = {
    "event_date": "Day",
    "created_date": "Cart day",
    "report_date": "Report day",
    "due_date": "Due",
    "horizon_date": "Act by",
    "source_date": "Source day",
    "updated_at": "Updated",
    "loaded_at": "Loaded",
    "revenue": "Revenue",
    "net_revenue": "Net revenue",
    "refunds": "Refunds",
    "transactions": "Transactions",
    "aov": "Average order value",
    "sessions": "Sessions",
    "engaged_sessions": "Engaged sessions",
    "engagement_rate": "Engagement rate",
    "converting_sessions": "Converting sessions",
    "conversion_rate": "Conversion rate",
    "active_users": "Users",
    "new_users": "New users",
    "carts": "Carts",
    "carts_created": "Carts created",
    "carts_abandoned": "Carts abandoned",
    "abandonment_rate": "Abandonment rate",
    "recovered_revenue": "Recovered revenue",
    "recovered_after_contact_revenue": "Recovered after contact",
    "recovered_carts": "Recovered carts",
    "searches": "Searches",
    "no_click_searches": "No-click searches",
    "no_result_searches": "No-result searches",
    "no_click_rate": "No-click rate",
    "no_click_share": "No-click share",
    "no_result_share": "No-result share",
    "cart_share": "Cart share",
    "purchase_share": "Purchase share",
    "searching_users": "Searching users",
    "no_click_sessions": "No-click sessions",
    "cart_sessions": "Sessions with a cart",
    "purchase_sessions": "Sessions with a purchase",
    "term": "Search term",
    "search_term": "Search term",
    "branch_code": "Branch",
    "branch_name": "Branch name",
    "warehouse_code": "Branch",
    "selected": "Filtered branch",
    "value": "Value",
    "amount": "Amount",
    "figure": "Figure",
    "count": "Count",
    "kind": "Kind",
    "status": "Status",
    "task_type": "Task type",
    "tasks": "Tasks",
    "task_key": "Task id",
    "priority": "Priority",
    "title": "Task",
    "assigned_rep_name": "Rep",
    "assigned_rep_email": "Rep email",
    "deliveries": "Deliveries",
    "item_id": "Item id",
    "item_name": "Product",
    "quantity": "Quantity",
    "price": "Price",
    "landing_page": "Landing page",
    "single_page_sessions": "Single-page sessions",
    "run_id": "Run",
    "source_table": "Export table",
    "bq_row_count": "Events in BigQuery",
    "rows_written": "Rows written",
    "message": "Message",
    "metric": "Figure",
    "current": "This period",
    "previous": "Previous period",
}
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$|^[a-z][a-z0-9]*$")


def label(name) -> str:
    """Words for a column name (anything not a plain lower-case identifier is kept)."""
    if not isinstance(name, str):
        return name
    if name in LABELS:
        return LABELS[name]
    if _SNAKE.match(name):
        return name.replace("_", " ").capitalize()
    return name


def relabel(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns=label)


def column_config(df: pd.DataFrame, config: dict | None = None) -> dict:
    """st.dataframe's column_config with a worded header for every column (a page's own
    config for a column keeps its settings and gets the label if it has none)."""
    out = dict(config or {})
    for col in df.columns:
        given = out.get(col)
        if given is None:
            out[col] = label(col)
        elif isinstance(given, dict) and not given.get("label"):
            out[col] = {**given, "label": label(col)}
    return out


_HOVER = re.compile(r"(^|<br>)([a-z][a-z0-9_]*)=")


def figure(fig):
    """Worded axis and legend titles and hover labels on a plotly express figure."""
    fig.for_each_xaxis(lambda a: a.update(title_text=label(a.title.text)) if a.title.text else None)
    fig.for_each_yaxis(lambda a: a.update(title_text=label(a.title.text)) if a.title.text else None)
    if fig.layout.legend.title.text:
        fig.update_layout(legend_title_text=label(fig.layout.legend.title.text))
    for trace in fig.data:
        if getattr(trace, "hovertemplate", None):
            trace.hovertemplate = _HOVER.sub(lambda m: m[1] + label(m[2]) + "=", trace.hovertemplate)
        if getattr(trace, "name", None):
            trace.name = label(trace.name)
            if getattr(trace, "legendgroup", None):
                trace.legendgroup = trace.name
    return fig
