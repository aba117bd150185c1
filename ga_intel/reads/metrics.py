"""The metric formulas of the dashboard and the API, in one place.

Over a date range [start, end] (GA4 `event_date`, the property's local day), from the
stored daily figures (`tenant_data.daily_metrics` for the tenant, `location_daily_metrics`
for one branch; computed by the pipeline, definitions in docs/METRICS.md). Periods add up
the daily counts and derive rates from the sums:

- **Revenue** = Σ revenue (de-duplicated transactions, plus purchases without a usable id).
- **Transactions** = Σ transactions.
- **AOV** (average order value) = Revenue / Transactions (undefined with no transactions).
- **Refunds** = Σ refunds; **Net revenue** = Revenue − Refunds.
- **Sessions** = Σ sessions (a session counts on the day it started, so the sum counts
  each session once). **Engagement rate** = Σ engaged_sessions / Σ sessions; GA4's bounce
  rate is 1 − engagement rate.
- **Users** = distinct active users over the whole period: the merge of the days'
  HyperLogLog sketches (ga_intel/insights/users.py), as GA4 counts users over a range;
  never a sum of daily counts. **New users** = Σ new_users (a user is new once).
- **Session conversion rate** = Σ converting_sessions / Σ sessions.
- **Abandonment rate** = Σ carts_abandoned / Σ carts_created.
- **No-click rate** = Σ no_click_searches / Σ searches (searches with results).

Daily values use the same formulas per day. The comparison period is the same number of
days immediately before `start` (`previous_period`). Deltas are relative changes
((current − previous) / previous) except for rates, whose delta is in percentage points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from ga_intel import reads


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
    users: int | None  # distinct over the period (sketches)
    refunds: float = 0.0
    engaged_sessions: int = 0
    new_users: int = 0
    cookieless_events: int = 0

    @property
    def net_revenue(self) -> float:
        return self.revenue - self.refunds

    @property
    def engagement_rate(self) -> float | None:
        return ratio(self.engaged_sessions, self.sessions)

    @property
    def aov(self) -> float | None:
        return ratio(self.revenue, self.transactions)

    @property
    def conversion_rate(self) -> float | None:
        return ratio(self.converting_sessions, self.sessions)

    @property
    def empty(self) -> bool:
        return not (self.sessions or self.transactions)


def with_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Per-row rates from the counts of a `metrics_daily` (or per-branch) frame."""
    df = df.copy()
    if "event_date" in df:
        df["event_date"] = pd.to_datetime(df["event_date"])
    pairs = {
        "aov": ("revenue", "transactions"),
        "conversion_rate": ("converting_sessions", "sessions"),
        "engagement_rate": ("engaged_sessions", "sessions"),
        "abandonment_rate": ("carts_abandoned", "carts_created"),
        "no_click_rate": ("no_click_searches", "searches"),
    }
    for name, (num, den) in pairs.items():
        if num in df and den in df:
            df[name] = [ratio(n, d) for n, d in zip(df[num], df[den])]
    return df


def daily(
    tenant_id: str, start: dt.date, end: dt.date, branch: str | None = None, fetch: reads.Fetch = reads.fetch
) -> pd.DataFrame:
    """One row per day with figures (tenant, or `branch`): the stored counts plus their rates."""
    df = fetch(tenant_id, "metrics_daily", start=start, end=end, branch=branch)
    return df if df.empty else with_rates(df)


# GA4 rows with no known branch (stored under this code, with no location row).
UNATTRIBUTED = "unattributed"
UNATTRIBUTED_NAME = "Unattributed (no known branch)"


def branches(tenant_id: str, start: dt.date, end: dt.date, fetch: reads.Fetch = reads.fetch) -> pd.DataFrame:
    """One row per branch over [start, end]: summed counts (sql/locations_summary.sql), their
    rates, and the branch's name (the locations list's, else the code)."""
    summary = fetch(tenant_id, "locations_summary", start=start, end=end)
    if summary.empty:
        return summary
    summary = with_rates(summary)
    summary["branch_name"] = [
        name if isinstance(name, str) and name else (UNATTRIBUTED_NAME if code == UNATTRIBUTED else code)
        for code, name in zip(summary["branch_code"], summary["branch_name"])
    ]
    return summary


def users(
    tenant_id: str, start: dt.date, end: dt.date, branch: str | None = None, fetch: reads.Fetch = reads.fetch
) -> int | None:
    """Distinct active users over [start, end]: the days' sketches merged."""
    from ga_intel.insights import users as hll

    sketches = fetch(tenant_id, "metrics_users", start=start, end=end, branch=branch)
    return None if sketches.empty else hll.distinct_users(sketches["users_sketch"])


def kpis(days: pd.DataFrame, distinct_users: int | None = None) -> Kpis:
    """The KPIs of the period whose `daily()` rows are `days` (`distinct_users`: `users()`
    of the same period)."""
    if days.empty:
        return Kpis(0.0, 0, 0, 0, None)
    return Kpis(
        revenue=float(days["revenue"].sum()),
        transactions=int(days["transactions"].sum()),
        sessions=int(days["sessions"].sum()),
        converting_sessions=int(days["converting_sessions"].sum()),
        users=distinct_users,
        refunds=float(days["refunds"].sum()),
        engaged_sessions=int(days["engaged_sessions"].sum()),
        new_users=int(days["new_users"].sum()),
        cookieless_events=int(days["cookieless_events"].sum()),
    )


def relative_delta(current: float | None, previous: float | None) -> float | None:
    """(current − previous) / |previous|; None when either is missing or previous is 0."""
    from ga_intel.insights import change

    return change.relative(current, previous)


def whole_months(start: dt.date, end: dt.date) -> dict[str, dt.date]:
    """The whole calendar months inside [start, end], as [months_from, months_to) (first
    days; equal when there is none): what a query reads from a monthly roll-up, the rest
    of the range coming from daily rows."""
    first = start if start.day == 1 else _next_month(start)
    after = (end + dt.timedelta(days=1)).replace(day=1)
    return {"months_from": first, "months_to": max(first, after)}


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def search_periods(start: dt.date, end: dt.date) -> dict[str, list[dt.date]]:
    """[start, end] as disjoint whole calendar quarters, months and ISO weeks (first days,
    as stored in search_terms_rollup) and single days, the fewest rows to read: the whole
    months (grouped into quarters where a whole quarter fits), then, in the partial months
    at either edge, whole weeks, then days."""
    out: dict[str, list[dt.date]] = {"quarters": [], "months": [], "weeks": [], "days": []}
    months = whole_months(start, end)
    m = months["months_from"]
    while m < months["months_to"]:
        quarter_end = _next_month(_next_month(_next_month(m)))
        if m.month % 3 == 1 and quarter_end <= months["months_to"]:
            out["quarters"].append(m)
            m = quarter_end
        else:
            out["months"].append(m)
            m = _next_month(m)
    edges = [(start, months["months_from"] - dt.timedelta(days=1)), (months["months_to"], end)]
    if months["months_from"] == months["months_to"]:
        edges = [(start, end)]
    for lo, hi in edges:
        d = lo
        while d <= hi:
            if d.isoweekday() == 1 and d + dt.timedelta(days=6) <= hi:
                out["weeks"].append(d)
                d += dt.timedelta(days=7)
            else:
                out["days"].append(d)
                d += dt.timedelta(days=1)
    return out


def search_terms(
    tenant_id: str,
    start: dt.date,
    end: dt.date,
    branch: str | None = None,
    top: int = 100,
    fetch: reads.Fetch = reads.fetch,
) -> pd.DataFrame:
    """Per term (those in some table's top `top`): searches, the no-result / no-click /
    converting counts, and their shares (sql/search_terms.sql):

    - no-result share = no_result_searches / searches
    - no-click share = no_click_sessions / sessions
    - cart share = cart_sessions / sessions; purchase share = purchase_sessions / sessions
    """
    df = fetch(tenant_id, "search_terms", start=start, end=end, branch=branch, top=top, **search_periods(start, end))
    if df.empty:
        return df
    df = df.copy()
    df["no_result_share"] = [ratio(n, s) for n, s in zip(df["no_result_searches"], df["searches"])]
    df["no_click_share"] = [ratio(n, s) for n, s in zip(df["no_click_sessions"], df["sessions"])]
    df["cart_share"] = [ratio(n, s) for n, s in zip(df["cart_sessions"], df["sessions"])]
    df["purchase_share"] = [ratio(n, s) for n, s in zip(df["purchase_sessions"], df["sessions"])]
    return df
