"""Fixtures shared by several test modules (registered in conftest.py's pytest_plugins, so
test modules never import fixtures from one another)."""

from __future__ import annotations

import pytest

from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers import email as email_helpers
from ga_intel_tests.helpers import pages
from ga_intel_tests.helpers.masterdata import LOC_HEADER, LOCS, USER_HEADER, USERS, xlsx


@pytest.fixture
def drop(sshd):
    """The sshd's remote folder holding a valid pair of files."""
    sshd.clear()
    sshd.put("UserReport.xlsx", xlsx(USER_HEADER, USERS))
    sshd.put("Locations_List.xlsx", xlsx(LOC_HEADER, LOCS))
    return sshd


@pytest.fixture
def fresh_cache():
    """Cached query results outlive an AppTest; every test starts from the database."""
    from streamlit_app.lib import data, pagedata

    data.clear_cache()
    pagedata.tenant_rules.clear()
    yield
    data.clear_cache()
    pagedata.tenant_rules.clear()


@pytest.fixture
def tenants(db, secret_key, tmp_path, monkeypatch, fresh_cache):
    """acme and beta for the dashboard tests (pages.ACME_MEMBERS; dev login on)."""
    acme = tenant_data("acme", folder=str(tmp_path), members=pages.ACME_MEMBERS)
    beta = tenant_data(
        "beta",
        folder=str(tmp_path),
        members=[{"email": "admin@beta.example", "role": "admin"}, {"email": "multi@both.example", "role": "manager"}],
    )
    for data in (acme, beta):
        store.add(tenant_file.validate(data, "test"))
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_DAGSTER_URL", "http://dagster.test:3000/")


@pytest.fixture
def ga4(tenants):
    """Known stored figures for acme and beta: see helpers.pages.fill_dashboard_data."""
    pages.fill_dashboard_data()


@pytest.fixture
def shop(db, secret_key, smtp_sink):
    return email_helpers.build_shop(smtp_sink)


@pytest.fixture(scope="module")
def provider():
    """A real OpenID provider on a free loopback port; yields its base URL.

    Any client id and secret are accepted (no registration required). The member is a
    predefined user with a verified email, and so is the stranger; any other name typed into
    the provider's form signs in as a user whose `email` claim is that name, unverified
    (which ga-intel refuses: security/test_03_identity.py).
    """
    import threading

    import werkzeug.serving
    from oidc_provider_mock import User, app

    from ga_intel import ports
    from ga_intel_tests.helpers.oidc import MEMBER, STRANGER

    server = werkzeug.serving.make_server(
        "127.0.0.1",
        ports.free_port(),
        app(
            require_nonce=True,
            user_claims=[
                User(sub=MEMBER, claims={"email": MEMBER, "email_verified": True, "name": "Morgan Manager"}),
                User(sub=STRANGER, claims={"email": STRANGER, "email_verified": True}),
            ],
        ),
        threaded=True,
    )
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    from ga_intel_tests.helpers.oidc import TIMEOUT
    from ga_intel_tests.servers.dashboard import SCREENSHOTS, chromium_path

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(TIMEOUT)
        yield page
        browser.close()


@pytest.fixture(scope="module")
def api_url(platform_db):
    from ga_intel.api.app import create_app
    from ga_intel.devservices.api_server import serve_api

    with serve_api(create_app()) as url:
        yield url


@pytest.fixture
def data(ga4):
    """ga4's figures plus acme tasks for the list, and an email ledger row per tenant."""
    import sqlalchemy as sa

    from ga_intel.db import tenant_scope
    from ga_intel_tests.helpers.pages import D1, D2, insert, task

    insert(
        "acme",
        "tasks",
        [
            task("purchase:T1", "purchase_followup", "CHI", "rep@acme.example", value=100, customer="u1", priority=1),
            task("purchase:T2", "purchase_followup", "MKE", "rep2@acme.example", value=60, day=D2, customer="u2"),
            task("search:u3", "search_followup", "CHI", None, day=D2, customer="u3", priority=3),
        ],
    )
    for tenant, rcpt in (("acme", "acme@rcpt.example"), ("beta", "beta@rcpt.example")):
        with tenant_scope(tenant) as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_data.email_deliveries (tenant_id, idempotency_key, report_kind, report_date, "
                    "branch_code, recipient, status) VALUES (:t, :k, 'branch', :d, 'CHI', :r, 'queued')"
                ),
                {"t": tenant, "k": f"k-{tenant}", "d": D1, "r": rcpt},
            )
