"""The Email page with AppTest: the ledger as each role sees it, retrying a failed delivery
through the real SMTP server, a preview rendered from the data, and another tenant's
deliveries never shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from ga_intel.db import tenant_scope
from ga_intel.email.deliver import send_day
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.email import BOSS, CHI_BOSS, KARA, MORNING, deliveries
from ga_intel_tests.helpers.pages import rendered
from ga_intel_tests.helpers.shop import D1

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py")
BETA_RECIPIENT = "beta-secret-rep@beta.example"


@pytest.fixture
def sent(shop, smtp_sink, monkeypatch):  # noqa: F811
    """Shop's reports for D1 sent, with Kara's refused; a second tenant with its own ledger."""
    from streamlit_app.lib import data

    smtp_sink.reject.add(KARA)
    send_day("shop", D1, now=MORNING)
    smtp_sink.reject.clear()
    smtp_sink.clear()
    store.add(
        tenant_file.validate(tenant_data("beta", members=[{"email": "admin@shop.example", "role": "admin"}]), "test")
    )
    with tenant_scope("beta") as c:
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.email_deliveries (tenant_id, idempotency_key, report_kind, "
                "report_date, branch_code, recipient, status, error) VALUES ('beta', 'k1', 'branch', :d, "
                "'B1', :r, 'failed', 'beta failure')"
            ),
            {"d": D1, "r": BETA_RECIPIENT},
        )
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    data.clear_cache()
    yield smtp_sink
    data.clear_cache()


def email_page(monkeypatch, email: str) -> AppTest:
    monkeypatch.setenv("GA_INTEL_DEV_USER", email)
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["tenant"] = "shop"
    at.session_state["date_range"] = (D1, D1)
    at.run()
    assert not at.exception, at.exception
    at.switch_page("views/email.py").run()
    assert not at.exception, at.exception
    return at


def test_admin_sees_the_ledger_and_retries_the_failed_delivery(sent, monkeypatch):
    at = email_page(monkeypatch, "admin@shop.example")
    page = rendered(at)
    assert KARA in page and CHI_BOSS in page and BOSS in page and "mailbox unavailable" in page
    assert BETA_RECIPIENT not in page and "beta failure" not in page
    assert {m.label: m.value for m in at.metric}["Failed"] == "1"

    at.button(key="email-retry").click().run()
    assert not at.exception, at.exception
    assert [m.rcpt_tos for m in sent.messages] == [[KARA]]  # only the failed one, once
    assert deliveries()[("CHI", KARA)]["status"] == "sent"
    assert any("sent 1 now" in s.value for s in at.success)


def test_branch_manager_sees_only_their_branch_and_cannot_retry(sent, monkeypatch):
    at = email_page(monkeypatch, CHI_BOSS)
    page = rendered(at)
    assert KARA in page and CHI_BOSS in page
    assert not re.search(r"(?<![\w-])" + re.escape(BOSS), page)  # the tenant summary's recipient
    assert not [b for b in at.button if b.key == "email-retry"]
    assert list(at.selectbox(key="email-preview-branch").options) == ["Chicago (CHI)"]


def test_preview_renders_the_report_without_sending(sent, monkeypatch):
    at = email_page(monkeypatch, "admin@shop.example")
    at.selectbox(key="email-preview-branch").set_value("Chicago (CHI)")
    at.date_input(key="email-preview-day").set_value(D1)
    at.button(key="email-preview").click().run()
    assert not at.exception, at.exception
    page = rendered(at)
    assert "Chen Plumbing" in page and "Subject: Chicago: 2 open tasks" in page  # plain text, not Markdown
    assert not sent.messages


def test_reps_have_no_email_page(sent, monkeypatch):
    config = store.get("shop")
    members = [m.model_dump() for m in config.members] + [{"email": "rep@shop.example", "role": "rep", "branch": "CHI"}]
    store.update_section("shop", "members", members)
    monkeypatch.setenv("GA_INTEL_DEV_USER", "rep@shop.example")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    with pytest.raises(ValueError):  # not a page of a rep's navigation
        at.switch_page("views/email.py")
