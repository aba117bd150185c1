"""The dashboard's Settings page, with AppTest, against the real platform database."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SA_PRIVATE_KEY_MARKER, SMTP_PASSWORD, tenant_data

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py")


@pytest.fixture
def tenants(db, secret_key, tmp_path, monkeypatch):
    (tmp_path / "UserReport.xlsx").write_bytes(b"u")
    (tmp_path / "Locations_List.xlsx").write_bytes(b"l")
    acme = tenant_data("acme", folder=str(tmp_path), members=[
        {"email": "admin@acme.example", "role": "admin"},
        {"email": "rep@acme.example", "role": "rep", "branch": "CHI"},
    ])
    beta = tenant_data("beta", folder=str(tmp_path), members=[{"email": "other@beta.example", "role": "admin"}])
    for data in (acme, beta):
        store.add(tenant_file.validate(data, "test"))
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")


def app_as(monkeypatch, email: str) -> AppTest:
    monkeypatch.setenv("GA_INTEL_DEV_USER", email)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    return at


def all_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "title", "subheader", "success", "error", "warning", "info", "text"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [str(w.value) for w in at.text_input]
    parts += [str(getattr(w, "placeholder", "")) for w in at.text_input]
    return "\n".join(parts)


def test_admin_sees_settings_with_the_dev_banner_and_no_secret(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    assert at.title[0].value == "Settings"
    assert "Dev login is on" in at.warning[0].value
    text = all_text(at)
    assert "acme-ga" in text  # the BigQuery project id is shown
    assert SMTP_PASSWORD not in text and SA_PRIVATE_KEY_MARKER not in text
    password = next(w for w in at.text_input if w.key == "acme:smtp:password")
    assert password.value == "" and "stored" in password.placeholder


def test_rep_is_not_shown_settings(tenants, monkeypatch):
    at = app_as(monkeypatch, "rep@acme.example")
    assert not [t for t in at.title if t.value == "Settings"]
    assert "admins only" in all_text(at)


def test_user_without_membership_sees_no_access(tenants, monkeypatch):
    at = app_as(monkeypatch, "stranger@nowhere.example")
    assert at.title[0].value == "No access"
    assert "acme" not in all_text(at).replace("stranger", "")


def test_session_state_cannot_reach_another_tenant(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    at.session_state["tenant"] = "beta"
    at.run()
    text = all_text(at)
    assert "`acme`" in text and "beta-ga" not in text and "`beta`" not in text


def test_invalid_save_names_the_field_and_changes_nothing(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    at.text_input(key="acme:smtp:from_address").set_value("not-an-email")
    at.number_input(key="acme:smtp:port").set_value(0)
    next(b for b in at.button if b.label == "Save" and "smtp" in str(b.form_id)).click()
    at.run()
    text = all_text(at)
    assert "Nothing was saved" in text and "smtp.from_address" in text and "smtp.port" in text
    stored = store.get("acme").smtp
    assert stored.port == 2525 and stored.from_address == "reports@acme.example"


def test_valid_save_persists_and_keeps_the_password(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    at.text_input(key="acme:smtp:from_name").set_value("Acme Sales Desk")
    next(b for b in at.button if b.label == "Save" and "smtp" in str(b.form_id)).click()
    at.run()
    assert not at.exception
    stored = store.get("acme").smtp
    assert stored.from_name == "Acme Sales Desk"
    assert stored.password.get_secret_value() == SMTP_PASSWORD


def test_test_connection_uses_the_stored_settings(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    at.button(key="test-folder").click()
    at.run()
    assert any("UserReport.xlsx and Locations_List.xlsx present" in s.value for s in at.success)
    at.button(key="test-smtp").click()
    at.run()
    assert any("cannot connect" in e.value for e in at.error)  # nothing listens on 2525 here
    assert SMTP_PASSWORD not in all_text(at)
