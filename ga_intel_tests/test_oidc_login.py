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
import threading

import pytest
import werkzeug.serving

from ga_intel import ports
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.servers.dashboard import SCREENSHOTS, chromium_path, streamlit_server
from streamlit_app.lib.widgets import NO_GA4_DATA

pytestmark = pytest.mark.browser

MEMBER = "manager@acme.example"
STRANGER = "someone@elsewhere.example"
TIMEOUT = 30_000  # ms, for each wait on the page


@pytest.fixture(scope="module")
def provider():
    """A real OpenID provider on a free loopback port; yields its base URL.

    Any client id and secret are accepted (no registration required). The member is a
    predefined user with a verified email, and so is the stranger; any other name typed into
    the provider's form signs in as a user whose `email` claim is that name, unverified
    (which ga-intel refuses: security/test_03_identity.py).
    """
    from oidc_provider_mock import User, app

    server = werkzeug.serving.make_server("127.0.0.1", ports.free_port(), app(
        require_nonce=True,
        user_claims=[User(sub=MEMBER, claims={"email": MEMBER, "email_verified": True, "name": "Morgan Manager"}),
                     User(sub=STRANGER, claims={"email": STRANGER, "email_verified": True})],
    ), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


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
    with streamlit_server(folder, {"GA_INTEL_DEV_LOGIN": "1", "GA_INTEL_DEV_USER": MEMBER},
                          secrets_toml=auth, port=port) as url:
        yield url


@pytest.fixture
def acme(db, tmp_path):
    data = tenant_data("acme", folder=str(tmp_path), members=[
        {"email": "admin@acme.example", "role": "admin"},
        {"email": MEMBER, "role": "manager", "branch": "CHI"},
    ])
    store.add(tenant_file.validate(data, "test"))


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT)
        yield page
        browser.close()


def sign_in_at_provider(page, app_url: str, provider: str, email: str) -> None:
    """From the app's sign-in page, through the provider's form, back to the app."""
    page.goto(app_url)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(f"{provider}/oauth2/authorize*")
    page.get_by_role("heading", name="Authorize Client").wait_for()
    page.locator("input[name=sub]").fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(f"{app_url}/**")


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
