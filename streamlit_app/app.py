"""The ga-intel dashboard: sign-in, tenant and date selection, then the pages.

Run with `streamlit run streamlit_app/app.py` (`make dev` does).

To add a page: put its script in `views/` and add a `PageSpec` to `PAGES` with the roles
that may open it. A page reads who and where from `lib.context.current()`. Platform
operators (GA_INTEL_PLATFORM_OPERATORS) also get "New tenant", even with no tenant.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

# Streamlit runs this file as a script, not as part of the package; make the repository importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamlit_app import auth  # noqa: E402
from streamlit_app.lib import branch_filter, context, operator, ui  # noqa: E402

# Not "pages/": on a run that never reaches st.navigation (sign-in, no access), Streamlit
# would list that folder in the sidebar and serve its scripts by URL.
VIEWS = Path(__file__).parent / "views"


@dataclass(frozen=True)
class PageSpec:
    script: str
    title: str
    icon: str
    url_path: str
    roles: frozenset[str]
    default: bool = False


ALL_ROLES = frozenset({"admin", "manager", "rep"})

PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview.py", "Overview", ":material/monitoring:", "overview", ALL_ROLES, default=True),
    PageSpec("carts.py", "Cart abandonment", ":material/remove_shopping_cart:", "carts", ALL_ROLES),
    PageSpec("search.py", "Search", ":material/search:", "search", ALL_ROLES),
    PageSpec("locations.py", "Locations", ":material/store:", "locations", ALL_ROLES),
    PageSpec("tasks.py", "Tasks", ":material/checklist:", "tasks", ALL_ROLES),
    PageSpec("email.py", "Email", ":material/mail:", "email", frozenset({"admin", "manager"})),
    PageSpec("data.py", "Data", ":material/database:", "data", ALL_ROLES),
    PageSpec("settings.py", "Settings", ":material/settings:", "settings", frozenset({"admin"})),
)
# Only for platform operators (GA_INTEL_PLATFORM_OPERATORS), whatever their tenant roles.
NEW_TENANT = PageSpec("new_tenant.py", "New tenant", ":material/add_business:", "new-tenant", frozenset())


def no_access(email: str) -> None:
    st.title("No access")
    st.write(f"**{email}** is not a member of any tenant.")
    st.write("Ask your tenant's admin to add you (Settings → Members, or `members` in the tenant file).")


def nothing_for_role(ctx: context.Context) -> None:
    st.title(ctx.tenant_id)
    st.info("There is no page for your role yet. Settings are for tenant admins only.")


def main() -> None:
    st.set_page_config(page_title="ga-intel", page_icon="📈", layout="wide")
    auth.dev_banner()
    context.forget()
    who = auth.signed_in()
    if who is None:
        st.stop()
    with ui.stop_on_error():
        is_operator = operator.resolve(who.email) is not None
        ctx = context.resolve(who.email, who.issuer, who.subject)
    if ctx is None and not is_operator:
        no_access(who.email)
        st.stop()
    if ctx is not None:
        with ui.stop_on_error():
            ctx = branch_filter.apply(ctx)  # the branch picked on Locations, if it is one of this tenant's
    specs = [spec for spec in PAGES if ctx is not None and ctx.role in spec.roles]
    if is_operator:
        st.sidebar.caption(f"Platform operator: {who.email}")
        specs.append(NEW_TENANT)
    pages = [st.Page(VIEWS / spec.script, title=spec.title, icon=spec.icon, url_path=spec.url_path) for spec in specs]
    if not pages:
        nothing_for_role(ctx)
        st.stop()
    home = next((p for p, spec in zip(pages, specs) if spec.default), pages[0])

    def root() -> None:
        # Streamlit serves the default page at "/" only, so /overview would be "Page not
        # found"; instead "/" is a hidden page that goes on to the home page's own URL
        # with the query string, and every page has exactly one URL (deep links work).
        st.switch_page(home, query_params=st.query_params.to_dict())

    st.navigation([st.Page(root, title=home.title, url_path="root", default=True, visibility="hidden"), *pages]).run()


main()
