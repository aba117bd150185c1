"""The dashboard's sign-in, tenant context and Settings page, with AppTest, against the real
platform database (the embedded PostgreSQL of conftest's `platform_db`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ga_intel import ports
from ga_intel.errors import TenantFileError
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SA_PRIVATE_KEY_MARKER, SMTP_PASSWORD, drop_folder, tenant_data
from ga_intel_tests.helpers.pages import rendered, submit, texts

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py")
DEV_BANNER = "Dev login is on — no identity provider"


@pytest.fixture
def smtp_port():
    """A port nothing listens on, so the SMTP check fails fast and predictably."""
    return ports.free_port()


@pytest.fixture
def tenants(db, secret_key, tmp_path, monkeypatch, smtp_port):
    folder = drop_folder("acme")
    (folder / "UserReport.xlsx").write_bytes(b"u")
    (folder / "Locations_List.xlsx").write_bytes(b"l")
    acme = tenant_data(
        "acme",
        folder=str(folder),
        members=[
            {"email": "admin@acme.example", "role": "admin"},
            {"email": "rep@acme.example", "role": "rep", "branch": "CHI"},
            {"email": "multi@both.example", "role": "admin"},
        ],
    )
    # An emulator endpoint: no check in these tests may reach Google.
    acme["bigquery"]["api_endpoint"] = "http://127.0.0.1:9"
    acme["smtp"]["port"] = smtp_port
    beta = tenant_data(
        "beta",
        members=[
            {"email": "other@beta.example", "role": "admin"},
            {"email": "multi@both.example", "role": "rep"},
        ],
    )
    for data in (acme, beta):
        store.add(tenant_file.validate(data, "test"))
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")


SETTINGS_PAGE = "views/settings.py"


def app_as(monkeypatch, email: str) -> AppTest:
    """The app as `email`, on the Settings page when their navigation has it (Overview is the
    default page; a rep's navigation has no Settings, so a rep stays on Overview)."""
    monkeypatch.setenv("GA_INTEL_DEV_USER", email)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    try:
        at.switch_page(SETTINGS_PAGE)
    except ValueError:  # not a page of this user's navigation
        return at
    at.run()
    assert not at.exception, at.exception
    return at


def test_admin_sees_settings_with_the_dev_banner(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    assert at.title[0].value == "Settings"
    assert DEV_BANNER in at.warning[0].value
    assert at.text_input(key="acme:bigquery:project_id").value == "acme-ga"
    assert "SMTP (email reports)" in rendered(at)
    for name in ("acme:smtp:password", "acme:bigquery:service_account"):
        secret = at.text_input(key=name)
        assert secret.value == "" and secret.placeholder == "stored — leave blank to keep"


def test_no_secret_is_rendered_anywhere(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    everything = rendered(at)
    # Also the failure details of the checks that use secrets (SMTP login, service-account key).
    for service in ("smtp", "bigquery"):
        at.button(key=f"test-{service}").click()
        at.run()
        assert [e.value for e in at.error if e.value.startswith(f"Failed — {service}")]
        everything += rendered(at)
    assert "acme-ga" in everything and "reports@acme.example" in everything  # the walk does see values
    assert store.MASK not in everything
    for secret in (SMTP_PASSWORD, SA_PRIVATE_KEY_MARKER):
        # Any 10 characters of it: a truncated or sliced secret is still a leak.
        for i in range(len(secret) - 9):
            assert secret[i : i + 10] not in everything, f"a part of a secret is rendered: {secret[i : i + 10]!r}"


def test_rep_sees_admins_only(tenants, monkeypatch):
    at = app_as(monkeypatch, "rep@acme.example")
    assert "Settings" not in [t.value for t in at.title]
    assert at.title[0].value == "Overview"  # Settings is not in a rep's navigation
    with pytest.raises(ValueError):
        at.switch_page(SETTINGS_PAGE)
    assert DEV_BANNER in at.warning[0].value
    assert not [w for w in at.text_input if w.key and w.key.startswith("acme:")]


def test_user_without_membership_sees_no_access(tenants, monkeypatch):
    at = app_as(monkeypatch, "stranger@nowhere.example")
    assert at.title[0].value == "No access"
    assert DEV_BANNER in at.warning[0].value
    shown = rendered(at).replace("stranger@nowhere.example", "")
    for tenant_word in ("acme", "beta", "Acme", "Beta"):
        assert tenant_word not in shown


def test_session_state_cannot_reach_another_tenant(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    at.session_state["tenant"] = "beta"
    at.run()
    assert not at.exception
    shown = rendered(at)
    assert "`acme`" in shown and "beta-ga" not in shown and "`beta`" not in shown
    assert at.session_state["tenant"] == "acme"


def test_tenant_selector_offers_only_own_tenants_with_the_role_of_each(tenants, monkeypatch):
    at = app_as(monkeypatch, "multi@both.example")
    picker = at.sidebar.selectbox(key="tenant")
    assert list(picker.options) == ["acme", "beta"]
    assert at.title[0].value == "Settings"  # admin of acme
    picker.set_value("beta").run()
    assert "Settings" not in [t.value for t in at.title]  # rep of beta
    assert "beta-ga" not in rendered(at)

    # Forged before the first run (AppTest cannot send a value the selectbox does not offer):
    # no membership there, so back to the user's first tenant.
    monkeypatch.setenv("GA_INTEL_DEV_USER", "multi@both.example")
    forged = AppTest.from_file(APP, default_timeout=30)
    forged.session_state["tenant"] = "gamma"
    forged.run()
    assert not forged.exception, forged.exception
    forged.switch_page(SETTINGS_PAGE).run()  # only an admin's navigation has it: the admin of acme
    assert forged.title[0].value == "Settings" and "`acme`" in rendered(forged)


def test_date_range_defaults_to_the_last_30_days(tenants, monkeypatch):
    from streamlit_app.lib.context import default_dates

    at = app_as(monkeypatch, "admin@acme.example")
    start, end = default_dates()
    assert tuple(at.sidebar.date_input(key="date_range").value) == (start, end)
    assert (end - start).days + 1 == 30


def test_invalid_save_names_the_fields_and_changes_nothing(tenants, monkeypatch, smtp_port):
    at = app_as(monkeypatch, "admin@acme.example")
    at.text_input(key="acme:smtp:from_address").set_value("not-an-email")
    at.number_input(key="acme:smtp:port").set_value(0)
    submit(at, "smtp")
    errors = "\n".join(e.value for e in at.error)
    assert "Nothing was saved" in errors and "`smtp.from_address`" in errors and "`smtp.port`" in errors
    # The form keeps what the admin typed, to fix it.
    assert at.text_input(key="acme:smtp:from_address").value == "not-an-email"
    stored = store.get("acme").smtp
    assert stored.port == smtp_port and stored.from_address == "reports@acme.example"
    assert stored.password.get_secret_value() == SMTP_PASSWORD


def test_valid_save_persists_and_keeps_the_stored_password(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    at.text_input(key="acme:smtp:from_name").set_value("Acme Sales Desk")
    submit(at, "smtp")
    assert any(s.value == "Saved." for s in at.success)
    assert any("saved" in t.value for t in at.toast)
    stored = store.get("acme").smtp
    assert stored.from_name == "Acme Sales Desk"
    assert stored.password.get_secret_value() == SMTP_PASSWORD
    assert at.text_input(key="acme:smtp:from_name:v1").value == "Acme Sales Desk"


def test_a_typed_secret_is_stored_and_not_shown_back(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    new_password = "new-" + SMTP_PASSWORD[::-1]
    at.text_input(key="acme:smtp:password").set_value(new_password)
    submit(at, "smtp")
    assert store.get("acme").smtp.password.get_secret_value() == new_password
    # After the save the form is a new one: the secret input is empty again.
    assert at.text_input(key="acme:smtp:password:v1").value == ""
    assert new_password not in rendered(at)


def test_the_tenant_database_is_shown_but_only_the_operator_changes_it(tenants, monkeypatch):
    # Where a tenant's data lives (and the login that migrates and moves it) is the
    # operator's: no form to add one, and a stored one is shown read-only, secret masked.
    at = app_as(monkeypatch, "admin@acme.example")
    assert not [w for w in at.text_input if w.key and w.key.startswith("acme:postgres:")]
    with pytest.raises(TenantFileError, match="set by the platform operator"):
        store.update_section("acme", "postgres", {"host": "db.acme.example", "database": "sales", "username": "ga"})
    data = store.redacted(store.get("acme"))
    assert data.get("postgres") is None


def test_test_connection_runs_the_check_on_the_stored_settings(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    at.button(key="test-folder").click()
    at.run()
    assert any(
        s.value.startswith("OK") and "UserReport.xlsx and Locations_List.xlsx present" in s.value for s in at.success
    )
    # Unsaved edits do not count: the stored SMTP server (a closed port) is what is tried.
    at.text_input(key="acme:smtp:server").set_value("unsaved.example")
    at.button(key="test-smtp").click()
    at.run()
    failures = [e.value for e in at.error if e.value.startswith("Failed")]
    assert failures and "unsaved.example" not in failures[0]


def test_members_are_edited_in_the_table(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    table = at.data_editor(key="acme:members:editor")
    emails = list(table.value["email"])
    at.session_state["acme:members:editor"] = {
        "edited_rows": {emails.index("rep@acme.example"): {"branch": "NYC"}},
        "added_rows": [{"email": "New@Acme.example", "role": "manager"}],
        "deleted_rows": [emails.index("multi@both.example")],
    }
    at.button(key="save-members").click()
    at.run()
    assert not at.exception, at.exception
    members = {m.email: (m.role, m.branch) for m in store.get("acme").members}
    assert members == {
        "admin@acme.example": ("admin", None),
        "rep@acme.example": ("rep", "NYC"),
        "new@acme.example": ("manager", None),
    }
    # A new editor shows what is stored, not the stored rows plus the old edits again.
    assert sorted(at.data_editor(key="acme:members:editor:v1").value["email"]) == sorted(members)


def test_members_save_refuses_to_drop_your_own_admin_role(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    emails = list(at.data_editor(key="acme:members:editor").value["email"])
    at.session_state["acme:members:editor"] = {
        "edited_rows": {emails.index("admin@acme.example"): {"role": "rep"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="save-members").click()
    at.run()
    assert any("your own admin access" in e.value for e in at.error)
    assert {m.email: m.role for m in store.get("acme").members}["admin@acme.example"] == "admin"


def test_unreachable_database_is_a_clear_error(monkeypatch):
    # A loopback test database (the dev login accepts only those), on a port nothing listens on.
    monkeypatch.setenv(
        "GA_INTEL_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{ports.free_port()}/ga_intel_test_gone"
    )
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    at = app_as(monkeypatch, "admin@acme.example")
    assert any("cannot reach the platform database" in e.value for e in at.error)
    assert any("GA_INTEL_DATABASE_URL" in c.value for c in at.caption)


def test_without_login_configured_the_app_explains_and_shows_nothing(monkeypatch):
    monkeypatch.delenv("GA_INTEL_DEV_LOGIN", raising=False)
    at = app_as(monkeypatch, "admin@acme.example")
    assert any("Sign-in is not configured" in e.value for e in at.error)
    assert not at.warning and not at.text_input


def test_oidc_login_wins_over_the_dev_login(tenants, monkeypatch):
    monkeypatch.setenv("GA_INTEL_DEV_USER", "rep@acme.example")
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "ga-intel",
        "client_secret": "s",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
    }
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.warning  # the dev flag is set, but it is not what signs users in

    at.user = {
        "is_logged_in": True,
        "email": "Admin@Acme.example",
        "email_verified": True,
        "iss": "https://idp.example",
        "sub": "admin-subject",
    }
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Overview" and not at.warning
    at.switch_page(SETTINGS_PAGE).run()
    assert at.title[0].value == "Settings"

    at.user = {
        "is_logged_in": True,
        "email": "admin@acme.example",
        "email_verified": False,
        "iss": "https://idp.example",
        "sub": "admin-subject",
    }
    at.run()
    assert "Settings" not in [t.value for t in at.title]
    assert any("not verified" in e.value for e in at.error)


@pytest.mark.parametrize(
    "providers, buttons",
    [
        # `client_kwargs` configures the default provider; it is not a provider named "client_kwargs".
        (
            {
                "client_id": "ga-intel",
                "client_secret": "s",
                "client_kwargs": {"scope": "openid email"},
                "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
            },
            ["Log in"],
        ),
        (
            {
                "google": {
                    "client_id": "g",
                    "client_secret": "s",
                    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
                },
                "okta": {
                    "client_id": "o",
                    "client_secret": "s",
                    "server_metadata_url": "https://acme.okta.com/.well-known/openid-configuration",
                },
            },
            ["Log in with google", "Log in with okta"],
        ),
    ],
)
def test_one_login_button_per_configured_provider(tenants, providers, buttons):
    at = AppTest.from_file(APP, default_timeout=30)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        **providers,
    }
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, at.exception
    assert [b.label for b in at.button] == buttons


def test_master_data_column_mapping_is_edited_as_lines(tenants, monkeypatch):
    at = app_as(monkeypatch, "admin@acme.example")
    area = next(t for t in at.text_area if t.key.endswith("master_data:user_columns"))
    area.set_value("user_id: Web User ID\nbranch_code: Home Branch\n")
    submit(at, "master_data")
    assert store.get("acme").master_data.user_columns == {"user_id": "Web User ID", "branch_code": "Home Branch"}
    at = app_as(monkeypatch, "admin@acme.example")
    area = next(t for t in at.text_area if t.key.endswith("master_data:user_columns"))
    area.set_value("no_such_column: X\n")
    submit(at, "master_data")
    assert "unknown column(s) no_such_column" in texts(at)
    assert store.get("acme").master_data.user_columns == {"user_id": "Web User ID", "branch_code": "Home Branch"}


def test_sales_reps_are_edited_in_the_table_all_or_nothing(tenants, monkeypatch):
    import sqlalchemy as sa

    from ga_intel.db import tenant_scope

    with tenant_scope("acme") as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tenant_data.locations (tenant_id, warehouse_code, warehouse_name, source_row) "
                "VALUES ('acme', 'CHI', 'Chicago', 2), ('acme', 'MKE', 'Milwaukee', 3)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name, source) "
                "VALUES ('acme', 'CHI', 'kara@acme.example', 'Kara', 'file')"
            )
        )
    at = app_as(monkeypatch, "admin@acme.example")
    at.session_state["acme:reps:editor"] = {
        "edited_rows": {},
        "deleted_rows": [],
        "added_rows": [
            {"branch_code": "MKE", "rep_email": "Rita@Acme.example", "rep_name": "Rita"},
            {"branch_code": "NOPE", "rep_email": "x@acme.example", "rep_name": "X"},
        ],
    }
    at.button(key="save-reps").click()
    at.run()
    assert "branch 'NOPE' is not in the locations list" in texts(at)
    from ga_intel.masterdata.reps import list_reps

    assert [(r["branch_code"], r["rep_email"]) for r in list_reps("acme")] == [("CHI", "kara@acme.example")]
    at.session_state["acme:reps:editor"] = {
        "edited_rows": {0: {"enabled": False}},
        "deleted_rows": [],
        "added_rows": [{"branch_code": "MKE", "rep_email": "Rita@Acme.example", "rep_name": "Rita"}],
    }
    at.button(key="save-reps").click()
    at.run()
    assert not at.exception, at.exception
    got = {(r["branch_code"], r["rep_email"]): (r["enabled"], r["source"]) for r in list_reps("acme")}
    assert got == {("CHI", "kara@acme.example"): (False, "manual"), ("MKE", "rita@acme.example"): (True, "manual")}
