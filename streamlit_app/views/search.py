"""Search: what customers search for, which searches fail, and which convert.

Two different failures, shown in separate tables:
- **no-result**: the site reported that the search returned nothing (the tenant's
  no-result event);
- **no-click**: the search returned results, but the session neither viewed an item nor
  added one to the cart after it.
From the stored per-day figures (search_terms_daily, daily_metrics / location_daily_metrics
under a branch filter). Definitions: `lib/metrics.search_terms` and `sql/search_terms.sql`.
"""

from __future__ import annotations

import streamlit as st

from streamlit_app.lib import branch_filter, context, pagedata, ui, widgets

ctx = context.current()
st.title("Search")
st.caption(
    f"{ctx.start:%b %d, %Y} – {ctx.end:%b %d, %Y} · {branch_filter.describe(ctx)} · terms are trimmed and lower-cased"
)

with st.spinner("Loading searches…"), ui.stop_on_error():
    loaded = pagedata.search(ctx)
terms, daily = loaded.terms, loaded.days

if terms.empty and (daily.empty or not (daily["searches"].sum() + daily["no_result_searches"].sum())):
    widgets.empty_state(
        "No searches for these dates yet. Either no GA4 data is loaded for them — the pipeline loads each day "
        "after GA4 exports it; see the **Data** page — or the site sent no `search` / `view_search_results` "
        "events" + (f" for branch **{ctx.branch_filter}**." if ctx.branch_filter else ".")
    )
    st.stop()

with_results = int(daily["searches"].sum()) if not daily.empty else 0
no_result = int(daily["no_result_searches"].sum()) if not daily.empty else 0
cells = st.columns(4)
widgets.metric(
    cells[0],
    "Searches",
    with_results + no_result,
    help="Searches with results (`search` / `view_search_results`) plus no-result events.",
)
widgets.metric(cells[1], "Distinct terms", int(terms["distinct_terms"].iloc[0]) if not terms.empty else 0)
widgets.metric(cells[2], "No-result searches", no_result, help="The site reported that the search returned nothing.")
widgets.metric(
    cells[3],
    "No-click searches",
    int(daily["no_click_searches"].sum()) if not daily.empty else 0,
    help="Results were shown, but the session neither viewed an item nor added to cart afterwards.",
)

PCT = st.column_config.NumberColumn(format="percent")


def top(frame, rank: str, columns: list[str], keep) -> object:
    if frame.empty:
        return frame
    return frame[keep(frame)].sort_values(rank)[columns].head(pagedata.TOP)


st.subheader("Top search terms")
widgets.table(
    top(
        terms,
        "top_rank",
        ["term", "searches", "sessions", "searching_users", "cart_share", "purchase_share"],
        lambda f: f["searches"] > 0,
    ),
    "search_top_terms",
    "No search terms in these dates.",
    column_config={
        "cart_share": PCT,
        "purchase_share": PCT,
        "searching_users": st.column_config.NumberColumn(
            "searching user-days", help="distinct searchers per day and branch, added up"
        ),
    },
)

left, right = st.columns(2)
with left:
    st.subheader("No-result terms")
    st.caption("**No-result**: searches for which the site reported that nothing was found.")
    widgets.table(
        top(
            terms,
            "no_result_rank",
            ["term", "no_result_searches", "searches", "no_result_share"],
            lambda f: f["no_result_searches"] > 0,
        ),
        "search_no_result_terms",
        "No search without results in these dates.",
        column_config={"no_result_share": PCT},
    )
with right:
    st.subheader("No-click terms")
    st.caption(
        "**No-click**: results were shown, but the session neither viewed an item nor added to cart "
        "after searching the term (counted in sessions; no-result searches are not counted here)."
    )
    widgets.table(
        top(
            terms,
            "no_click_rank",
            ["term", "no_click_sessions", "sessions", "no_click_share"],
            lambda f: f["no_click_sessions"] > 0,
        ),
        "search_no_click_terms",
        "Every search with results led to a click in these dates.",
        column_config={"no_click_share": PCT},
    )

st.subheader("Terms that convert")
st.caption("Share of the sessions searching the term that then added to cart / purchased.")
widgets.table(
    top(
        terms,
        "convert_rank",
        ["term", "sessions", "cart_sessions", "cart_share", "purchase_sessions", "purchase_share"],
        lambda f: (f["cart_sessions"] > 0) | (f["purchase_sessions"] > 0),
    ),
    "search_converting_terms",
    "No search led to an add-to-cart or purchase in these dates.",
    column_config={"cart_share": PCT, "purchase_share": PCT},
)

st.subheader("Searches by day")
if daily.empty:
    widgets.empty_state()
else:
    trend = daily[["event_date", "searches", "no_result_searches", "no_click_searches", "no_click_rate"]].rename(
        columns={"searches": "searches_with_results"}
    )
    long = trend.melt(
        id_vars="event_date",
        value_vars=["searches_with_results", "no_result_searches", "no_click_searches"],
        var_name="kind",
        value_name="count",
    )
    widgets.chart(widgets.daily_line(long, "count", "Searches by day", color="kind"), trend, "search_by_day")
