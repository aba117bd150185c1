"""Deep links: every page's URL, with `?tenant=` and `?branch=` in the query string, opens
that page so filtered (the email reports link to `/overview?tenant=acme&branch=CHI`).

A value in the query string is applied once, when it first appears (a link was opened);
after that the sidebar's widgets win, and `sync` writes their state back, so the address
bar always holds a link to what is on screen. Values are only requests: the tenant must be
one of the user's and the branch one of the tenant's (context.py, branch_filter.py check).
"""

from __future__ import annotations

import streamlit as st

_SEEN_KEY = "_links_seen"


def _seen() -> dict[str, str | None]:
    return st.session_state.setdefault(_SEEN_KEY, {})


def opened(name: str) -> str | None:
    """The query-string value of `name` if a link just brought it, else None."""
    value = st.query_params.get(name)
    if value is None or _seen().get(name) == value:
        return None
    _seen()[name] = value
    return value


def sync(name: str, value: str | None) -> None:
    """Write the state back to the query string (and remember it as already applied)."""
    _seen()[name] = value
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
    elif st.query_params.get(name) != value:
        st.query_params[name] = value
