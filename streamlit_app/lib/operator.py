"""Who is a platform operator: a signed-in email listed in GA_INTEL_PLATFORM_OPERATORS
(ga_intel/settings.py). Operators create tenants on the "New tenant" page; the list lives
in the deployment's configuration, never in a tenant's members.

Recomputed on every rerun, like the tenant context: app.py records this run's operator
(or none), and the page asks again, so neither a stale session nor an edited session
state opens the page to anyone else.
"""

from __future__ import annotations

import streamlit as st

from ga_intel import settings

_OPERATOR_KEY = "_platform_operator"


def resolve(email: str) -> str | None:
    """This run's operator email, or None when `email` is not an operator."""
    st.session_state.pop(_OPERATOR_KEY, None)
    if email.strip().lower() in settings.platform_operators():
        st.session_state[_OPERATOR_KEY] = email.strip().lower()
        return st.session_state[_OPERATOR_KEY]
    return None


def current() -> str | None:
    """The operator app.py resolved on this run, if they are still listed; else None."""
    email = st.session_state.get(_OPERATOR_KEY)
    if isinstance(email, str) and email in settings.platform_operators():
        return email
    return None
