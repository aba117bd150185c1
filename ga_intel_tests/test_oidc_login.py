"""The OIDC sign-in, end to end: `st.login` against a real local OpenID provider
(oidc-provider-mock, a Flask app served on 127.0.0.1), the dashboard served by
`streamlit run` with an `[auth]` secrets file, and headless Chromium clicking through it.

Nothing is mocked on the app's side: the browser follows the real redirects, Streamlit
fetches the provider metadata, exchanges the code for tokens and validates the ID token,
and the dashboard maps the email in it to tenant memberships. Screenshots go to
artifacts/screenshots/.
"""

from __future__ import annotations

import secrets

import pytest

from ga_intel import ports
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.oidc import MEMBER, STRANGER, sign_in_at_provider
from ga_intel_tests.servers.dashboard import SCREENSHOTS, streamlit_server
from streamlit_app.lib.widgets import NO_GA4_DATA

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(provider, platform_db, tmp_path_factory):
    """The dashboard with OIDC sign-in configured for `provider` (and the dev flag set, to
    show it is not what signs users in once `[auth]` exists)."""
    folder = tmp_path_factory.mktemp("oidc-app")
    port = ports.free_port()
    auth = (
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "ga-intel-dashboard"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    with streamlit_server(
        folder, {"GA_INTEL_DEV_LOGIN": "1", "GA_INTEL_DEV_USER": MEMBER}, secrets_toml=auth, port=port
    ) as url:
        yield url


@pytest.fixture
def acme(db, tmp_path):
    data = tenant_data(
        "acme",
        folder=str(tmp_path),
        members=[
            {"email": "admin@acme.example", "role": "admin"},
            {"email": MEMBER, "role": "manager", "branch": "CHI"},
        ],
    )
    store.add(tenant_file.validate(data, "test"))


def test_a_member_signs_in_with_oidc_sees_their_tenant_and_signs_out(acme, provider, app_url, page):
    page.goto(app_url)
    page.get_by_text("Sign in with your company account").wait_for()
    assert page.get_by_text("Dev login is on").count() == 0  # [auth] wins over the dev flag
    page.screenshot(path=str(SCREENSHOTS / "oidc-sign-in.png"), full_page=True)

    sign_in_at_provider(page, app_url, provider, MEMBER)
    page.get_by_role("heading", name="Overview", exact=True).wait_for()
    # The tenant has no GA4 data yet: the page read it (as acme, through row-level security)
    # and says so. test_browser.py covers pages with data.
    page.get_by_text(NO_GA4_DATA.split(" — ")[0]).wait_for()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(f"Signed in as {MEMBER} (manager, branch CHI)").wait_for()
    sidebar.get_by_text("Tenant: acme").wait_for()
    assert page.get_by_text("Dev login is on").count() == 0
    sidebar.get_by_role("link", name="Search").wait_for()
    assert sidebar.get_by_role("link", name="Settings").count() == 0  # managers have no Settings
    html = page.content()
    page.screenshot(path=str(SCREENSHOTS / "oidc-signed-in.png"), full_page=True)
    assert "Traceback" not in html

    # A reload keeps the identity (Streamlit's signed cookie), without the provider.
    page.reload()
    sidebar.get_by_text(f"Signed in as {MEMBER}").wait_for()

    # Log out: Streamlit drops its cookie and sends the browser to the provider's
    # end-session endpoint, which returns it to the app, signed out.
    sidebar.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{provider}/oauth2/end_session*")
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{app_url}/**")
    page.get_by_role("button", name="Log in", exact=True).wait_for()
    page.reload()
    page.get_by_role("button", name="Log in", exact=True).wait_for()
    assert page.get_by_text(f"Signed in as {MEMBER}").count() == 0
    assert page.get_by_role("heading", name="Overview", exact=True).count() == 0


def test_a_signed_in_user_without_membership_sees_no_access(acme, provider, app_url, page):
    sign_in_at_provider(page, app_url, provider, STRANGER)
    page.get_by_role("heading", name="No access").wait_for()
    page.get_by_text(f"{STRANGER} is not a member of any tenant").wait_for()
    html = page.content()
    page.screenshot(path=str(SCREENSHOTS / "oidc-no-access.png"), full_page=True)
    assert "Traceback" not in html
    assert page.get_by_text("Tenant:").count() == 0  # no tenant reaches the page
    assert page.get_by_role("heading", name="Overview", exact=True).count() == 0
    # Not stuck: the stranger can sign out again.
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{provider}/oauth2/end_session*")
