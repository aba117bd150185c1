"""The dashboard's metric formulas: those of `ga_intel.reads.metrics` (one place for the
dashboard and the API), with the readers bound to the dashboard's cached `data.fetch`."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from ga_intel.reads import metrics as _shared
from ga_intel.reads.metrics import (  # noqa: F401  (the pages' vocabulary)
    Kpis,
    kpis,
    previous_period,
    ratio,
    relative_delta,
    search_periods,
    whole_months,
    with_rates,
)
from streamlit_app.lib import data


def daily(tenant_id: str, start: dt.date, end: dt.date, branch: str | None = None) -> pd.DataFrame:
    return _shared.daily(tenant_id, start, end, branch, fetch=data.fetch)


def branches(tenant_id: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    return _shared.branches(tenant_id, start, end, fetch=data.fetch)


def users(tenant_id: str, start: dt.date, end: dt.date, branch: str | None = None) -> int | None:
    return _shared.users(tenant_id, start, end, branch, fetch=data.fetch)


def search_terms(
    tenant_id: str, start: dt.date, end: dt.date, branch: str | None = None, top: int = 100
) -> pd.DataFrame:
    return _shared.search_terms(tenant_id, start, end, branch, top=top, fetch=data.fetch)


for _f in (daily, branches, users, search_terms):
    _f.__doc__ = getattr(_shared, _f.__name__).__doc__
