"""Which tenant the signed-in user is looking at, with what role, over which dates.

Recomputed on every rerun from the control plane. Session state only remembers which
tenant the user last picked, and that pick is dropped unless the user is a member of it
now, so neither edited session state nor a stale session can reach another tenant (or
keep a role the admin has since taken away).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import streamlit as st

TENANT_KEY = "tenant"
DATE_RANGE_KEY = "date_range"
_CONTEXT_KEY = "_context"


@dataclass(frozen=True)
class Context:
    email: str
    tenant_id: str
    role: str  # admin | manager | rep
    branch: str | None
    tenants: tuple[str, ...]
    start: dt.date
    end: dt.date
    # The branch every page is filtered to (lib/branch_filter.py validates it against the
    # tenant's branches on every run); None: the whole tenant.
    branch_filter: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def default_dates(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last 30 complete days: today's GA4 export is still incomplete."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=30), today - dt.timedelta(days=1)


def _pick_tenant(tenants: tuple[str, ...]) -> str:
    from streamlit_app.lib import links

    chosen = st.session_state.get(TENANT_KEY)
    linked = links.opened("tenant")
    if linked in tenants:
        chosen = linked
    if chosen not in tenants:
        chosen = tenants[0]
    # Written before the selectbox exists in this run, so the widget shows the validated pick.
    st.session_state[TENANT_KEY] = chosen
    if len(tenants) > 1:
        chosen = st.sidebar.selectbox("Tenant", tenants, key=TENANT_KEY)
    else:
        st.sidebar.caption(f"Tenant: **{chosen}**")
    if chosen not in tenants:  # cannot happen through the widget; refuse rather than trust it
        st.stop()
    links.sync("tenant", chosen)
    return chosen


def _pick_dates() -> tuple[dt.date, dt.date]:
    start, end = default_dates()
    picked = st.sidebar.date_input("Dates", value=(start, end), max_value=dt.date.today(), key=DATE_RANGE_KEY)
    if isinstance(picked, (tuple, list)):
        # While the user is between the two clicks of a range, the widget holds one date.
        if len(picked) == 2:
            return picked[0], picked[1]
        if len(picked) == 1:
            return picked[0], picked[0]
        return start, end
    return picked, picked


def resolve(email: str, issuer: str | None = None, subject: str | None = None) -> Context | None:
    """This run's context, rendering the sidebar pickers; None when the email has no membership.

    An OIDC sign-in passes its issuer and subject: memberships bind to them at first
    sign-in, and one bound to another identity refuses (`store.IdentityMismatch`)."""
    from ga_intel.tenancy import store

    memberships = dict(store.members_for(email, issuer, subject))
    if not memberships:
        return None
    tenants = tuple(sorted(memberships))
    tenant_id = _pick_tenant(tenants)
    start, end = _pick_dates()
    member = memberships[tenant_id]
    st.sidebar.caption(f"Signed in as {email} ({member.role}{', branch ' + member.branch if member.branch else ''})")
    ctx = Context(
        email=email, tenant_id=tenant_id, role=member.role, branch=member.branch, tenants=tenants, start=start, end=end
    )
    st.session_state[_CONTEXT_KEY] = ctx
    return ctx


def store(ctx: Context) -> Context:
    """Make `ctx` this run's context (after app.py refines it, e.g. with the branch filter)."""
    st.session_state[_CONTEXT_KEY] = ctx
    return ctx


def forget() -> None:
    """Drop the previous run's context, so nothing on this run can act on a stale one."""
    st.session_state.pop(_CONTEXT_KEY, None)


def current() -> Context:
    """The context app.py resolved on this run (pages call this)."""
    ctx = st.session_state.get(_CONTEXT_KEY)
    if not isinstance(ctx, Context):
        raise RuntimeError("no dashboard context: pages run only through streamlit_app/app.py")
    return ctx
