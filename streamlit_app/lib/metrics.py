"""The dashboard's metric formulas, in one place.

Over a date range [start, end] (GA4 `event_date`, the property's local day), from the
`tenant_data` GA4 tables (docs/DATABASE.md):

- **Revenue** = Σ `purchases.revenue` over every purchase row. `purchases` already holds one
  row per transaction (duplicate export events are collapsed at load), so rows whose
  transaction id is `(not set)` or null count too: they are real purchases without a usable id.
- **Transactions** = number of `purchases` rows.
- **AOV** (average order value) = Revenue / Transactions (undefined with no transactions).
- **Sessions** = number of `sessions` rows (one per GA4 session and day).
- **Active users** = number of distinct `sessions.user_pseudo_id` over the whole range
  (GA4's device id; sessions under consent mode without one are not counted).
- **Session conversion rate** = sessions with `had_purchase` / Sessions.

Daily values use the same formulas per day. The comparison period is the same number of
days immediately before `start` (`previous_period`). Deltas are relative changes
((current − previous) / previous) except for rates, whose delta is in percentage points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from streamlit_app.lib import data


def previous_period(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """The range of equal length ending the day before `start`."""
    days = (end - start).days + 1
    return start - dt.timedelta(days=days), start - dt.timedelta(days=1)


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class Kpis:
    revenue: float
    transactions: int
    sessions: int
    converting_sessions: int
    active_users: int

    @property
    def aov(self) -> float | None:
        return ratio(self.revenue, self.transactions)

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converting_sessions, self.sessions)

    @property
    def empty(self) -> bool:
        return not (self.sessions or self.transactions)


def daily(start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per day with data: revenue, transactions, sessions, converting_sessions, AOV, conversion_rate."""
    df = data.query("overview_daily", start=start, end=end)
    if df.empty:
        return df
    df = df.copy()
    df["event_date"] = pd.to_datetime(df["event_date"])
    df["aov"] = [ratio(r, t) for r, t in zip(df["revenue"], df["transactions"])]
    df["conversion_rate"] = [ratio(c, s) for c, s in zip(df["converting_sessions"], df["sessions"])]
    return df


def kpis(start: dt.date, end: dt.date, days: pd.DataFrame | None = None) -> Kpis:
    """The period's KPIs (`days`: the period's `daily()` frame, when already loaded)."""
    days = daily(start, end) if days is None else days
    users = data.query("overview_users", start=start, end=end)
    return Kpis(
        revenue=float(days["revenue"].sum()) if not days.empty else 0.0,
        transactions=int(days["transactions"].sum()) if not days.empty else 0,
        sessions=int(days["sessions"].sum()) if not days.empty else 0,
        converting_sessions=int(days["converting_sessions"].sum()) if not days.empty else 0,
        active_users=int(users["active_users"].iloc[0]) if not users.empty else 0,
    )


def relative_delta(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / previous; None when either is missing or previous is 0."""
    if current is None or previous is None or previous == 0:
        return None
    return (current - previous) / previous


def search_terms(start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per term: searches, searching_users, sessions, and the no-result / no-click / convert counts.

    - no-result share = no_result_searches / searches
    - no-click share = no_click_searches / searches_with_results (results shown, no item viewed
      or added to cart afterwards in the session)
    - add-to-cart share = add_to_cart_searches / searches; purchase share = purchase_searches / searches
    """
    df = data.query("search_terms", start=start, end=end)
    if df.empty:
        return df
    df = df.copy()
    df["no_result_share"] = [ratio(n, s) for n, s in zip(df["no_result_searches"], df["searches"])]
    df["no_click_share"] = [ratio(n, s) for n, s in zip(df["no_click_searches"], df["searches_with_results"])]
    df["add_to_cart_share"] = [ratio(n, s) for n, s in zip(df["add_to_cart_searches"], df["searches"])]
    df["purchase_share"] = [ratio(n, s) for n, s in zip(df["purchase_searches"], df["searches"])]
    return df
