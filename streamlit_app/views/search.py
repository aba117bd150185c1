"""Search: what customers search for, which searches fail, and which convert.

Two different failures, shown in separate tables:
- **no-result**: GA4 reported that the search returned nothing (`no_results`);
- **no-click**: the search returned results, but the session neither viewed an item nor
  added one to the cart after it.
Definitions and shares: `lib/metrics.search_terms` and `sql/search_terms.sql`.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from streamlit_app.lib import context, data, metrics, ui, widgets

ctx = context.current()
st.title("Search")
st.caption(f"{ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y} · terms are trimmed and lower-cased")

with st.spinner("Loading searches…"), ui.stop_on_error():
    terms = metrics.search_terms(ctx.start, ctx.end)
    daily = data.query("search_daily", start=ctx.start, end=ctx.end)

if terms.empty and daily.empty:
    widgets.empty_state(
        "No searches for these dates yet. Either no GA4 data is loaded for them — the pipeline loads each day "
        "after GA4 exports it; see the **Data** page — or the site sent no `search` / `view_search_results` "
        "events."
    )
    st.stop()

total = int(daily["searches"].sum())
cells = st.columns(4)
cells[0].metric("Searches", f"{total:,}")
cells[1].metric("Distinct terms", f"{len(terms):,}")
cells[2].metric("No-result searches", f"{int(daily['no_result_searches'].sum()):,}",
                help="GA4 reported that the search returned nothing.")
cells[3].metric("No-click searches", f"{int(daily['no_click_searches'].sum()):,}",
                help="Results were shown, but the session neither viewed an item nor added to cart afterwards.")

PCT = st.column_config.NumberColumn(format="percent")

st.subheader("Top search terms")
widgets.table(
    terms[["term", "searches", "searching_users", "sessions", "add_to_cart_share", "purchase_share"]].head(100),
    "search_top_terms", "No search terms in these dates.",
    column_config={"add_to_cart_share": PCT, "purchase_share": PCT, "searching_users": "searching users"},
)

left, right = st.columns(2)
with left:
    st.subheader("No-result terms")
    st.caption("**No-result**: searches for which the site reported that nothing was found.")
    no_result = terms[terms["no_result_searches"] > 0] if not terms.empty else terms
    if not no_result.empty:
        no_result = no_result.sort_values(["no_result_searches", "term"], ascending=[False, True])[
            ["term", "no_result_searches", "searches", "no_result_share"]].head(100)
    widgets.table(no_result, "search_no_result_terms", "No search without results in these dates.",
                  column_config={"no_result_share": PCT})
with right:
    st.subheader("No-click terms")
    st.caption("**No-click**: results were shown, but the session neither viewed an item nor added to cart "
               "after the search (no-result searches are not counted here).")
    no_click = terms[terms["no_click_searches"] > 0] if not terms.empty else terms
    if not no_click.empty:
        no_click = no_click.sort_values(["no_click_searches", "term"], ascending=[False, True])[
            ["term", "no_click_searches", "searches_with_results", "no_click_share"]].head(100)
    widgets.table(no_click, "search_no_click_terms", "Every search with results led to a click in these dates.",
                  column_config={"no_click_share": PCT})

st.subheader("Terms that convert")
st.caption("Share of the term's searches after which the same session added to cart / purchased.")
converting = terms[(terms["add_to_cart_searches"] > 0) | (terms["purchase_searches"] > 0)] if not terms.empty else terms
if not converting.empty:
    converting = converting.sort_values(["purchase_searches", "add_to_cart_searches", "term"],
                                        ascending=[False, False, True])[
        ["term", "searches", "add_to_cart_searches", "add_to_cart_share", "purchase_searches", "purchase_share"]
    ].head(100)
widgets.table(converting, "search_converting_terms", "No search led to an add-to-cart or purchase in these dates.",
              column_config={"add_to_cart_share": PCT, "purchase_share": PCT})

st.subheader("Searches by day")
if daily.empty:
    widgets.empty_state()
else:
    trend = daily.copy()
    trend["event_date"] = pd.to_datetime(trend["event_date"])
    long = trend.melt(id_vars="event_date", value_vars=["searches", "no_result_searches", "no_click_searches"],
                      var_name="kind", value_name="count")
    widgets.chart(px.line(long, x="event_date", y="count", color="kind", markers=True, title="Searches by day"),
                  trend, "search_by_day")
