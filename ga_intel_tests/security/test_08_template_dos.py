"""Finding 8: a tenant's email template must not freeze the dashboard or the daemon.

Jinja's sandbox stops attribute tricks, not work. These templates used to run in the
caller's process when the Settings form or the tenant file was saved, on every
`store.get`, and at send time. Now the arithmetic and string building are bounded, and
a tenant's template renders in a child process with a CPU-time and memory limit (here
3 s of CPU and 128 MB; GA_INTEL_TEMPLATE_TIMEOUT_SECONDS, GA_INTEL_TEMPLATE_MEMORY_MB):
the save returns a clear error naming the field,
nothing is stored, reading settings renders nothing, and a template that only explodes
on real data fails its own tenant's reports while another tenant's go out.

Everything runs against the real PostgreSQL, the real Settings page (AppTest) and the
real SMTP server.
"""

from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from ga_intel.db import control
from ga_intel.email.deliver import send_day
from ga_intel.errors import TenantFileError
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.email import MORNING, deliveries, shop_data
from ga_intel_tests.helpers.pages import APP
from ga_intel_tests.helpers.shop import D1, Shop

# The CPU limit; on a machine so loaded that 3 s of CPU take longer than the wall-clock
# backstop (5 x 3 + 5 s), the backstop.
CPU = "more than 3 s of CPU time|did not finish rendering within 20 s"
NESTED = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"  # CPU, no output
DOUBLING = (
    "{% set ns = namespace(s='0123456789') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s|length }}"
)
WHOLE = "{% extends 'branch_report.html' %}{% block tasks %}" + NESTED + "{% endblock %}"
BOMBS = [
    ("intro", "{{ 9**999999999 }}", "too large a number"),
    ("subject", "{{ 'x' * 10**10 }}", "builds more than 1,000,000 characters"),
    ("intro", "{{ 'x'|center(10**9) }}", "width over 1,000,000"),
    ("intro", "{{ '%0999999999d' % 1 }}", "format width"),
    ("intro", "{{ '{:>999999999}'.format(1) }}", "format width"),
    ("intro", NESTED, CPU),
    ("intro", DOUBLING, "128 MB|" + CPU),  # whichever limit it meets first
    ("branch_template", WHOLE, CPU),
]


@pytest.fixture(autouse=True)
def limits(monkeypatch):
    monkeypatch.setenv("GA_INTEL_TEMPLATE_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("GA_INTEL_TEMPLATE_MEMORY_MB", "128")


@pytest.fixture
def acme(db, secret_key):
    store.add(tenant_file.validate(tenant_data("acme", email={"intro": "Good morning, {{ branch_name }}"}), "test"))


def stored_email(tenant_id: str) -> dict:
    with control() as conn:
        return conn.execute(
            sa.text("SELECT config FROM control.tenant_settings WHERE tenant_id = :t AND section = 'email'"),
            {"t": tenant_id},
        ).scalar()


@pytest.mark.parametrize("field, bomb, message", BOMBS)
def test_saving_a_template_bomb_is_refused_and_nothing_is_stored(acme, field, bomb, message):
    before = stored_email("acme")
    with pytest.raises(TenantFileError) as err:
        store.update_section("acme", "email", {**store.redacted(store.get("acme"))["email"], field: bomb})
    problems = dict(err.value.problems)
    assert re.search(message, problems[f"email.{field}"]), problems
    assert stored_email("acme") == before


def test_the_settings_page_reports_the_limit_at_the_field(acme, monkeypatch):
    monkeypatch.setenv("GA_INTEL_DEV_LOGIN", "1")
    monkeypatch.setenv("GA_INTEL_DEV_USER", "admin@acme.example")
    before = stored_email("acme")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/settings.py")
    at.run()
    at.text_area(key="acme:email:intro").set_value(NESTED)
    next(b for b in at.button if b.form_id.startswith("form-email-")).click()
    at.run()
    assert not at.exception, at.exception
    errors = "\n".join(e.value for e in at.error)
    assert "`email.intro`" in errors and re.search(CPU, errors)
    assert stored_email("acme") == before


def test_a_tenant_file_with_a_bomb_is_refused(db, secret_key, tmp_path):
    import yaml

    path = tmp_path / "bomb.yaml"
    path.write_text(yaml.safe_dump(tenant_data("bomb", email={"intro": NESTED})))
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(path)
    assert re.search(CPU, dict(err.value.problems)["email.intro"])
    assert "bomb" not in store.tenant_ids()


def test_reading_settings_never_renders_a_template(acme):
    # As if stored before this check (or written by hand): a template that cannot render.
    broken = "{% extends 'branch_report.html' %}{% block tasks %}{{ no_such_variable }}{% endblock %}"
    with control() as conn:
        conn.execute(
            sa.text(
                "UPDATE control.tenant_settings SET config = jsonb_set(config, '{branch_template}', "
                "to_jsonb(CAST(:b AS text))) WHERE tenant_id = 'acme' AND section = 'email'"
            ),
            {"b": broken},
        )
    assert store.get("acme").email.branch_template == broken  # read, not rendered
    # Saving another section leaves the email templates alone as well.
    store.update_section("acme", "rules", {"daily_list_cap": 5})
    with pytest.raises(TenantFileError) as err:  # saving the template itself renders it
        store.update_section("acme", "email", store.redacted(store.get("acme"))["email"])
    assert "no_such_variable" in dict(err.value.problems)["email.branch_template"]


def test_a_bomb_that_waits_for_real_data_fails_its_tenant_and_spares_the_others(db, secret_key, smtp_sink):
    # Harmless on the sample report the save renders, a bomb on real data.
    sleeper = "{% if tenant_id != 'sample' %}" + NESTED + "{% endif %}Good morning"
    shops = {}
    for tenant_id in ("evil", "good"):
        data = shop_data(smtp_sink)
        data["id"] = tenant_id
        shops[tenant_id] = Shop(tenant_id, data=data)
        shops[tenant_id].purchase(D1, 15, 1250.0, f"T-{tenant_id}", customer="u1")
        shops[tenant_id].available(D1)
        shops[tenant_id].run(D1)
    store.update_section("evil", "email", {**store.redacted(store.get("evil"))["email"], "intro": sleeper})

    outcomes = {}
    evil = threading.Thread(target=lambda: outcomes.__setitem__("evil", send_day("evil", D1, now=MORNING)))
    evil.start()
    outcomes["good"] = send_day("good", D1, now=MORNING)  # while evil's children run into their limit
    evil.join()

    good, bad = outcomes["good"], outcomes["evil"]
    assert good.sent > 0 and good.failed == 0
    assert bad.sent == 0 and bad.failed > 0
    failed = [r for r in deliveries("evil").values() if r["status"] == "failed"]
    assert failed and all(re.search(CPU, r["error"]) for r in failed)
    assert {m.message()["X-GA-Intel-Report"].split(";")[0] for m in smtp_sink.messages} == {"good"}
