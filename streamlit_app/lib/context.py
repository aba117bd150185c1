"""Who is signed in, which tenant they are looking at, and with what role.

Recomputed on every rerun from the control plane: session state only remembers which
tenant the user last picked, and that pick is dropped unless the user is a member of it,
so neither a URL nor edited session state can reach another tenant.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import streamlit as st

DEV_FLAG = "GA_INTEL_DEV_LOGIN"


@dataclass(frozen=True)
class Context:
    email: str
    tenant_id: str
    role: str  # admin | manager | rep
    branch: str | None
    tenants: tuple[str, ...]
    start: dt.date
    end: dt.date

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def dev_login_enabled() -> bool:
    return os.environ.get(DEV_FLAG, "").lower() in ("1", "true", "yes")


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except FileNotFoundError:
        return False
    except Exception:  # a malformed secrets.toml: treat as not configured, say so below
        return False


def signed_in_email() -> str | None:
    """The user's email, or None after rendering what they need to sign in."""
    if _oidc_configured():
        if st.user.is_logged_in:
            return str(st.user.email).strip().lower()
        st.title("ga-intel")
        st.write("Sign in with your company account to see your sales intelligence.")
        st.button("Log in", on_click=st.login, type="primary")
        return None
    if dev_login_enabled():
        default = os.environ.get("GA_INTEL_DEV_USER", "")
        email = st.sidebar.text_input("Dev login as", value=default, key="dev_login_email",
                                      help="Only because GA_INTEL_DEV_LOGIN is set; no identity provider checks this.")
        return email.strip().lower() or None
    st.title("ga-intel")
    st.error("Sign-in is not configured.")
    st.markdown(
        "Configure an OpenID Connect provider in `.streamlit/secrets.toml` under `[auth]` "
        "(see Streamlit's `st.login` docs), or, for local use only, start the app with "
        f"`{DEV_FLAG}=1`."
    )
    return None


def resolve(email: str) -> Context | None:
    """The context for this run; None (after saying why) for a user with no membership."""
    from ga_intel.tenancy import store

    memberships = dict(store.members_for(email))
    if not memberships:
        return None
    tenants = tuple(sorted(memberships))
    chosen = st.session_state.get("tenant")
    if chosen not in memberships:
        chosen = tenants[0]
    st.session_state["tenant"] = chosen
    chosen = st.sidebar.selectbox("Tenant", tenants, key="tenant") if len(tenants) > 1 else chosen
    if len(tenants) == 1:
        st.sidebar.caption(f"Tenant: **{chosen}**")
    today = dt.date.today()
    picked = st.sidebar.date_input("Dates", value=(today - dt.timedelta(days=30), today - dt.timedelta(days=1)),
                                   key="date_range")
    start, end = (picked if isinstance(picked, (tuple, list)) and len(picked) == 2 else (picked, picked))
    member = memberships[chosen]
    st.sidebar.caption(f"Signed in as {email} ({member.role}{', ' + member.branch if member.branch else ''})")
    return Context(email=email, tenant_id=chosen, role=member.role, branch=member.branch, tenants=tenants,
                   start=start, end=end)


def current() -> Context:
    """The context app.py resolved for this run (pages call this)."""
    return st.session_state["_context"]
