"""The branch filter every page honours.

Picked on the Locations page (click a row of the comparison table, or choose from the
list), held in session state as {tenant, branch}, and shown in the sidebar with a
"Clear branch filter" button. app.py calls `apply` on every run: the held branch is kept
only when it is a branch of the tenant being viewed (one of its locations, one with
metrics in the selected dates, or `unattributed`), so neither switching tenant nor edited
session state can carry a filter where it does not belong. Pages read `ctx.branch_filter`.

A filter narrows what a page shows; it never widens it. Which tasks a person may see is
decided by their role (lib/task_scope.py), whatever the filter says.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import streamlit as st

from ga_intel.reads.metrics import UNATTRIBUTED, UNATTRIBUTED_NAME  # noqa: F401  (pages use them from here)
from streamlit_app.lib import context, data

KEY = "branch_filter"


def options(tenant_id: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The tenant's branches: branch_code, branch_name (`unattributed` always included)."""
    df = data.fetch(tenant_id, "branches", start=start, end=end)
    if UNATTRIBUTED not in set(df["branch_code"]):
        df = pd.concat(
            [df, pd.DataFrame([{"branch_code": UNATTRIBUTED, "branch_name": UNATTRIBUTED_NAME}])], ignore_index=True
        )
    return df


def label(code: str, names: dict[str, str | None]) -> str:
    name = names.get(code)
    return f"{name} ({code})" if name and name != code else code


def set_filter(tenant_id: str, branch_code: str | None) -> None:
    if branch_code:
        st.session_state[KEY] = {"tenant": tenant_id, "branch": branch_code}
    else:
        clear()


def clear() -> None:
    st.session_state.pop(KEY, None)


def held(tenant_id: str) -> str | None:
    value = st.session_state.get(KEY)
    if isinstance(value, dict) and value.get("tenant") == tenant_id and isinstance(value.get("branch"), str):
        return value["branch"]
    return None


def apply(ctx: context.Context) -> context.Context:
    """This run's context with the validated branch filter; renders the sidebar notice.
    A `?branch=` link sets the filter (validated like any other), and the query string
    follows the filter, so the page's URL opens it filtered the same way."""
    from streamlit_app.lib import links

    linked = links.opened("branch")
    if linked:
        set_filter(ctx.tenant_id, linked)
    if KEY not in st.session_state:
        links.sync("branch", None)
        return ctx
    code = held(ctx.tenant_id)
    branches = options(ctx.tenant_id, ctx.start, ctx.end) if code else None
    if code is None or code not in set(branches["branch_code"]):
        clear()  # another tenant's, malformed, or not a branch of this tenant
        links.sync("branch", None)
        return ctx
    links.sync("branch", code)
    names = dict(zip(branches["branch_code"], branches["branch_name"]))
    st.sidebar.info(
        f"Branch filter: **{label(code, names)}**. Every page shows this branch only.", icon=":material/filter_alt:"
    )
    st.sidebar.button(
        "Clear branch filter", on_click=clear, key="clear-branch-filter", icon=":material/filter_alt_off:"
    )
    return context.store(dataclasses.replace(ctx, branch_filter=code))


def describe(ctx: context.Context) -> str:
    """For page captions: which branches the figures cover."""
    return f"branch **{ctx.branch_filter}**" if ctx.branch_filter else "all branches"
