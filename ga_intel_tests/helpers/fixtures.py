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
    beta = tenant_data("beta", folder=str(tmp_path), members=[{"email": "admin@beta.example", "role": "admin"},
                                                              {"email": "multi@both.example", "role": "manager"}])
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
