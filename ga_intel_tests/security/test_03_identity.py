"""Finding 3: an email claim alone must not sign anyone in as a member.

Against a real OpenID provider (oidc-provider-mock, as in test_oidc_login.py) and the
dashboard under `streamlit run`, with Chromium clicking through:
- a token whose `email_verified` is missing (Entra ID sends none) is refused, unless the
  operator trusts that issuer for the email's domain (GA_INTEL_OIDC_TRUSTED_DOMAINS);
- the first sign-in binds the member to (issuer, subject); another account that later
  claims the same email, even as verified, is refused and binds nothing.
"""

from __future__ import annotations

import json
import secrets
import urllib.request

import pytest
import sqlalchemy as sa

from ga_intel import ports
from ga_intel.db import control
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.oidc import sign_in_at_provider
from ga_intel_tests.servers.dashboard import streamlit_server

pytestmark = pytest.mark.browser

VICTIM = "victim@acme.example"
TRUSTED = "trusted@trusted.example"


def _set_user(provider: str, sub: str, claims: dict) -> None:
    """The provider's own API: what its user `sub` claims in the next token."""
    req = urllib.request.Request(
        f"{provider}/users/{sub}",
        data=json.dumps(claims).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(req, timeout=10)


@pytest.fixture(scope="module")
def app_url(provider, platform_db, tmp_path_factory):  # noqa: F811
    folder = tmp_path_factory.mktemp("identity-app")
    port = ports.free_port()
    auth = (
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(32)}"\n'
        'client_id = "ga-intel-dashboard"\n'
        f'client_secret = "{secrets.token_hex(16)}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )
    # The provider is trusted for trusted.example only: acme.example needs email_verified.
    with streamlit_server(
        folder, {"GA_INTEL_OIDC_TRUSTED_DOMAINS": f"{provider}=trusted.example"}, secrets_toml=auth, port=port
    ) as url:
        yield url


@pytest.fixture
def acme(db, tmp_path):
    store.add(
        tenant_file.validate(
            tenant_data(
                "acme",
                folder=str(tmp_path),
                members=[
                    {"email": "admin@acme.example", "role": "admin"},
                    {"email": VICTIM, "role": "manager"},
                    {"email": TRUSTED, "role": "rep"},
                ],
            ),
            "test",
        )
    )


def _binding(email: str) -> list[tuple]:
    with control() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT tenant_id, oidc_issuer, oidc_subject FROM control.tenant_members WHERE email = :e"),
                {"e": email},
            )
        ]


def _signed_in_as(page, email: str) -> None:
    page.get_by_test_id("stSidebar").get_by_text(f"Signed in as {email}").wait_for()
    page.get_by_role("heading", name="Overview", exact=True).wait_for()


def _refused(page, text: str) -> None:
    page.get_by_text(text).first.wait_for()
    assert page.get_by_text("Signed in as").count() == 0
    assert page.get_by_role("heading", name="Overview", exact=True).count() == 0
    assert "Traceback" not in page.content()


def test_an_unverified_email_is_refused_and_binds_nothing(acme, provider, app_url, page):  # noqa: F811
    _set_user(provider, "attacker-1", {"email": VICTIM})  # no email_verified at all
    sign_in_at_provider(page, app_url, provider, "attacker-1")
    _refused(page, "does not say it is verified")
    _set_user(provider, "attacker-2", {"email": VICTIM, "email_verified": False})
    page.context.clear_cookies()
    sign_in_at_provider(page, app_url, provider, "attacker-2")
    _refused(page, "says it is not verified")
    assert _binding(VICTIM) == [("acme", None, None)]


def test_an_issuer_the_operator_trusts_for_the_domain_signs_in_without_email_verified(acme, provider, app_url, page):  # noqa: F811
    _set_user(provider, "trusted-sub", {"email": TRUSTED})
    sign_in_at_provider(page, app_url, provider, "trusted-sub")
    _signed_in_as(page, TRUSTED)
    assert _binding(TRUSTED) == [("acme", provider, "trusted-sub")]


def test_a_changed_email_cannot_take_over_a_bound_member(acme, provider, app_url, page):  # noqa: F811
    _set_user(provider, "victim-sub", {"email": VICTIM, "email_verified": True})
    sign_in_at_provider(page, app_url, provider, "victim-sub")
    _signed_in_as(page, VICTIM)
    assert _binding(VICTIM) == [("acme", provider, "victim-sub")]

    # The tenant admin saves the tenant again: the binding stays with the member.
    config = store.get("acme")
    store.update(config)
    assert _binding(VICTIM) == [("acme", provider, "victim-sub")]

    # Another account at the provider edits its email to the victim's, and it is "verified".
    page.context.clear_cookies()
    _set_user(provider, "attacker-3", {"email": VICTIM, "email_verified": True})
    sign_in_at_provider(page, app_url, provider, "attacker-3")
    _refused(page, f"{VICTIM} is already bound to another sign-in account")
    assert _binding(VICTIM) == [("acme", provider, "victim-sub")]

    # The victim still signs in.
    page.context.clear_cookies()
    sign_in_at_provider(page, app_url, provider, "victim-sub")
    _signed_in_as(page, VICTIM)


def test_a_malformed_trust_setting_is_an_error_naming_the_variable(monkeypatch):
    from ga_intel import settings

    monkeypatch.setenv("GA_INTEL_OIDC_TRUSTED_DOMAINS", "https://idp.example")
    with pytest.raises(ValueError, match="GA_INTEL_OIDC_TRUSTED_DOMAINS"):
        settings.oidc_trusted_domains()
    monkeypatch.setenv("GA_INTEL_OIDC_TRUSTED_DOMAINS", "https://idp.example/=Acme.com,acme.de https://b=@b.org")
    assert settings.oidc_trusted_domains() == {
        "https://idp.example": frozenset({"acme.com", "acme.de"}),
        "https://b": frozenset({"b.org"}),
    }


@pytest.mark.parametrize(
    "address, database_url, refusal",
    [
        ("0.0.0.0", None, "not only on loopback"),
        ("", None, "listens on every interface"),
        ("127.0.0.1", "postgresql://ga:pw@db.internal:5432/ga_intel", "not the embedded one"),
        ("127.0.0.1", "postgresql://ga:pw@127.0.0.1:5432/ga_intel", "not the embedded one"),
    ],
)
def test_the_dev_login_fails_closed(platform_db, monkeypatch, address, database_url, refusal):
    """GA_INTEL_DEV_LOGIN on a deployment (a public address, a real database) signs no one in."""
    from streamlit import config as st_config
    from streamlit.testing.v1 import AppTest

    from ga_intel_tests.servers.dashboard import APP

    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_DEV_USER", "admin@acme.example")
    if database_url:
        monkeypatch.setenv("GA_INTEL_DATABASE_URL", database_url)
    st_config.set_option("server.address", address)
    try:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.run()
    finally:
        st_config.set_option("server.address", "127.0.0.1")
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "dev login is refused" in errors and refusal in errors
    assert not [t for t in at.text_input if t.key == "dev_login_email"]
    assert "Signed in as" not in " ".join(c.value for c in at.caption)
    assert not at.warning  # no dev banner: the dev login is not on
