"""Finding 2: a tenant admin's template must not run script in anyone's dashboard session.

The attack: a tenant admin stores a report template with `<script>`, an `onerror` handler
and a `javascript:` link, each of which reaches for the dashboard's own page (`top`,
`parent`, localStorage). A member of that tenant, who is also an admin of another tenant,
previews the report in the Email page, in real Chromium against `streamlit run`.

What stops it: the rendered report passes an allowlist (ga_intel/email/sanitize.py), and
the preview is a nested iframe sandboxed without scripts or same-origin. And the demo
SMTP sink's viewer lists only mail from the viewer's own tenant's ledger.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from ga_intel.db import tenant_scope
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.servers.dashboard import APP, SCREENSHOTS, chromium_path, streamlit_server

pytestmark = pytest.mark.browser

PREVIEWER = "boss@victim.example"
ATTACK = (
    "window.top.document.title='PWNED';window.top.localStorage.setItem('pwned','1');"
    "window.parent.__pwned=1;window.top.__pwned=1;document.body.setAttribute('data-ran','1')"
)
TEMPLATE = (
    '{% extends "summary_report.html" %}{% block branches %}{{ super() }}'
    '<p id="marker">PREVIEW-MARKER</p>'
    f"<script>{ATTACK}</script>"
    f'<img src="data:," onerror="{ATTACK}">'
    f'<a id="js" href="javascript:{ATTACK}">totally safe link</a>'
    f'<iframe srcdoc="<script>{ATTACK}</script>"></iframe>'
    "{% endblock %}"
)


@pytest.fixture
def tenants(db, secret_key, tmp_path):
    """`evil`, whose admin stored the template; `victim`, whose admin is also a member of `evil`."""
    evil = tenant_data(
        "evil",
        folder=str(tmp_path),
        members=[{"email": "admin@evil.example", "role": "admin"}, {"email": PREVIEWER, "role": "admin"}],
    )
    evil["email"] = {"summary_template": TEMPLATE}
    store.add(tenant_file.validate(evil, "test"))
    store.add(
        tenant_file.validate(
            tenant_data("victim", folder=str(tmp_path), members=[{"email": PREVIEWER, "role": "admin"}]), "test"
        )
    )


def test_the_rendered_report_keeps_no_script(tenants):
    from ga_intel.email.preview import preview

    html = preview("evil", "summary", dt.date.today() - dt.timedelta(days=1)).html
    assert "PREVIEW-MARKER" in html
    for bad in ("<script", "onerror", "javascript:", "<iframe", "PWNED"):
        assert bad not in html.lower() if bad.islower() else bad not in html, bad


def test_a_tenant_template_runs_no_script_in_a_previewers_browser(tenants, tmp_path):
    from playwright.sync_api import sync_playwright

    (tmp_path / "streamlit").mkdir()
    env = {"GA_INTEL_DEV_LOGIN": "1", "GA_INTEL_DEV_USER": PREVIEWER}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(tmp_path / "streamlit", env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.set_default_timeout(60_000)
        page.goto(f"{url}/email")
        page.get_by_role("heading", name="Email reports", exact=True).wait_for()
        page.get_by_role("button", name="Render preview").click()

        preview = page.frame_locator("iframe").first.frame_locator("iframe[title='email preview']")
        preview.get_by_text("PREVIEW-MARKER").wait_for()  # evil's template, rendered
        preview.get_by_text("totally safe link").click()  # the javascript: link, clicked
        page.wait_for_timeout(1500)  # give any script that did get in the time to act
        page.screenshot(path=str(SCREENSHOTS / "security-stored-script-preview.png"), full_page=True)

        sandbox = page.frame_locator("iframe").first.locator("iframe[title='email preview']").get_attribute("sandbox")
        assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
        assert page.title() != "PWNED"
        assert page.evaluate("window.__pwned") is None
        assert page.evaluate("window.localStorage.getItem('pwned')") is None
        for frame in page.frames:  # the component frame, the sandboxed preview, and any other
            if frame.url.startswith("about:srcdoc") and "email preview" not in frame.name:
                try:
                    assert frame.evaluate("window.__pwned") is None
                except Exception as exc:  # a sandboxed frame refuses evaluation only if scripts are off
                    assert "sandbox" in str(exc).lower() or "execution context" in str(exc).lower(), exc
        ran = preview.locator("body").get_attribute("data-ran")
        assert ran is None
        assert "<script" not in preview.locator("body").inner_html()
        browser.close()


def test_the_smtp_sink_viewer_shows_only_the_viewers_own_tenants_mail(tenants, tmp_path, monkeypatch):
    from streamlit_app.lib import data

    inbox = tmp_path / "sink" / "messages"
    inbox.mkdir(parents=True)
    for name, mid, subject in (
        ("1-victim.eml", "<m-victim@ga-intel>", "Victim daily report"),
        ("2-evil.eml", "<m-evil@ga-intel>", "EVIL private report"),
    ):
        (inbox / name).write_bytes(
            (
                f"From: reports@x.example\r\nTo: someone@x.example\r\nSubject: {subject}\r\nMessage-ID: {mid}\r\n"
                "Content-Type: text/html; charset=utf-8\r\n\r\n<p>body of " + subject + "</p>\r\n"
            ).encode()
        )
    for tenant, mid in (("victim", "<m-victim@ga-intel>"), ("evil", "<m-evil@ga-intel>")):
        with tenant_scope(tenant) as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_data.email_deliveries (tenant_id, idempotency_key, report_kind, report_date, "
                    "branch_code, recipient, status, message_id) VALUES (:t, 'k1', 'summary', CURRENT_DATE, '*', "
                    "'someone@x.example', 'sent', :m)"
                ),
                {"t": tenant, "m": mid},
            )
    monkeypatch.setenv("GA_INTEL_SMTP_SINK_DIR", str(tmp_path / "sink"))
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_DEV_USER", PREVIEWER)
    data.clear_cache()
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["tenant"] = "victim"
    at.run()
    at.switch_page("views/email.py").run()
    assert not at.exception, at.exception
    shown = repr([e.proto for e in at.main]) + repr([df.value.to_dict() for df in at.dataframe])
    assert "Victim daily report" in shown
    assert "EVIL private report" not in shown and "2-evil.eml" not in shown
    assert list(at.selectbox(key="email-sink-message").options) == ["1-victim.eml"]
    data.clear_cache()
