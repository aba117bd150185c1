"""The ga-intel dashboard: sign-in, tenant and date selection, then the pages.

Run with `streamlit run streamlit_app/app.py` (make dev does).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# Streamlit runs this file as a script; make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ga_intel.errors import GaIntelError  # noqa: E402
from streamlit_app.lib import context  # noqa: E402

# Not "pages/": Streamlit would also list that folder as pages of its own.
PAGES = Path(__file__).parent / "views"

st.set_page_config(page_title="ga-intel", page_icon="📈", layout="wide")

if context.dev_login_enabled():
    st.warning("Dev login is on — no identity provider checks who you are. Never use this in production.", icon="⚠️")


def no_access(email: str) -> None:
    st.title("No access")
    st.write(f"**{email}** is not a member of any tenant.")
    st.write("Ask your tenant's admin to add you (tenant file `members`, or the Settings page).")


def main() -> None:
    email = context.signed_in_email()
    if email is None:
        st.stop()
    try:
        ctx = context.resolve(email)
    except GaIntelError as exc:
        st.error(exc.message)
        if exc.hint:
            st.caption(exc.hint)
        st.stop()
    if ctx is None:
        no_access(email)
        st.stop()
    st.session_state["_context"] = ctx
    pages = []
    if ctx.is_admin:
        pages.append(st.Page(PAGES / "settings.py", title="Settings", icon="⚙️", url_path="settings"))
    if not pages:
        st.title(f"{ctx.tenant_id}")
        st.info("The dashboard's analytics pages arrive with the data behind them. "
                "Settings are for tenant admins only.")
        st.stop()
    st.navigation(pages).run()


main()
