"""Email reports against a real SMTP server (aiosmtpd with STARTTLS and AUTH, from the
`smtp_sink` fixture) and the real PostgreSQL ledger.

The shop: branch CHI has rep Kara (sales-rep mapping) and a branch manager (dashboard
member); MKE has customers but nobody to send to; GRB has a rep but no activity. The
tenant manager gets the summary."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import dagster as dg
import pytest
import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.email import content
from ga_intel.email.assets import email_reports
from ga_intel.email.automation import email_daily_schedule, email_ready_sensor
from ga_intel.email.deliver import send_day
from ga_intel.errors import TenantFileError
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data
from ga_intel_tests.helpers.email import (
    AFTER_DEADLINE,
    BOSS,
    CHI_BOSS,
    CHICAGO,
    GRETA,
    KARA,
    MIKE,
    MORNING,
    deliveries,
    parsed,
    shop_data,
)
from ga_intel_tests.helpers.shop import D1, Shop


def test_branch_reports_and_summary_go_to_exactly_their_recipients(shop, smtp_sink):
    outcome = send_day("shop", D1, now=MORNING)

    assert outcome.state == "done" and outcome.sent == 3 and outcome.failed == 0
    envelopes = sorted((m.mail_from, tuple(sorted(m.rcpt_tos))) for m in smtp_sink.messages)
    assert envelopes == [("reports@shop.example", (BOSS,)), ("reports@shop.example", (CHI_BOSS, KARA))]
    rows = deliveries()
    assert {k: r["status"] for k, r in rows.items()} == {
        ("CHI", KARA): "sent",
        ("CHI", CHI_BOSS): "sent",
        ("*", BOSS): "sent",
        ("MKE", ""): "skipped",
        ("GRB", GRETA): "skipped",
    }
    assert rows[("MKE", "")]["skip_reason"] == "no recipients"
    assert rows[("GRB", GRETA)]["skip_reason"] == "no data"
    assert all(r["message_id"] for r in rows.values() if r["status"] == "sent")


def test_branch_report_content_html_and_plain_text(shop, smtp_sink):
    send_day("shop", D1, now=MORNING)
    chicago = next(m for m in parsed(smtp_sink) if "Chicago" in m["Subject"])

    assert chicago.get_content_type() == "multipart/alternative"
    assert chicago["Subject"] == "Chicago: 2 open tasks, $1,250.00 revenue on Mon 04 Mar"
    assert chicago["From"] == "Reports <reports@shop.example>"
    html = chicago.get_body(("html",)).get_content()
    text = chicago.get_body(("plain",)).get_content()
    for body in (html, text):
        assert "Purchase follow-ups: 1" in body and "Search follow-ups: 1" in body
        # the branch's lists, one per rep: today's new tasks first, ranked
        assert "Kara · 2 open, 2 new" in body or "Kara: 2 open, 2 new" in body
        assert body.index("Thank Ava Chen for order T-100") < body.index("Help Cy Eng find: pvc elbow")
        assert "Chen Plumbing" in body and "ava@chen.example" in body and "+1 312 555 0101" in body
        assert "$1,250.00" in body and "pvc elbow" in body
        assert (
            "http://localhost:8501/tasks?tenant=shop&amp;branch=CHI" in body
            or "http://localhost:8501/tasks?tenant=shop&branch=CHI" in body
        )
        assert "Milwaukee" not in body and "T-200" not in body  # another branch's order
    assert 'style="' in html and "<style" not in html  # css-inline moved the CSS onto the elements
    assert "Data incomplete" not in html
    summary = next(m for m in parsed(smtp_sink) if "summary" in m["Subject"])
    summary_html = summary.get_body(("html",)).get_content()
    assert "Chicago" in summary_html and "Milwaukee" in summary_html and "Green Bay" in summary_html


def test_rerun_and_asset_rematerialization_send_nothing_twice(shop, smtp_sink):
    send_day("shop", D1, now=MORNING)
    send_day("shop", D1, now=MORNING)
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["shop"])
        for _ in range(2):
            result = dg.materialize(
                [email_reports],
                instance=instance,
                resources=build_resources(),
                partition_key=dg.MultiPartitionKey({"tenant": "shop", "date": D1.isoformat()}),
                run_config={"ops": {"email_reports": {"config": {"now": MORNING.isoformat()}}}},
                raise_on_error=False,
            )
            assert result.success, failure_messages(result)
            [check] = result.get_asset_check_evaluations()
            assert check.passed
    assert len(smtp_sink.messages) == 2
    assert all(r["attempts"] <= 1 for r in deliveries().values())


def test_crash_between_sends_never_duplicates(shop, smtp_sink):
    with tenant_scope("shop") as c:  # a third report, so the crash lands in the middle
        c.execute(
            sa.text(
                "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                "VALUES ('shop', 'MKE', :m, 'Mike')"
            ),
            {"m": MIKE},
        )
    script = (
        "import datetime as dt; from ga_intel.email.deliver import send_day; "
        f"send_day('shop', dt.date.fromisoformat('{D1}'), now=dt.datetime.fromisoformat('{MORNING.isoformat()}'))"
    )
    child = subprocess.Popen([sys.executable, "-c", script], env=dict(os.environ))

    def crash_on_second(received):
        if len(smtp_sink.messages) == 2:  # the server has the message; the sender never hears "250"
            os.kill(child.pid, signal.SIGKILL)

    smtp_sink.on_message = crash_on_second
    assert child.wait(timeout=120) == -signal.SIGKILL
    smtp_sink.on_message = None
    assert [r["status"] for r in deliveries().values() if r["branch_code"] == "MKE"] == ["sending"]

    outcome = send_day("shop", D1, now=MORNING)

    assert outcome.interrupted == 1 and outcome.sent == 1  # only the summary was still queued
    recipients = sorted(tuple(sorted(m.rcpt_tos)) for m in smtp_sink.messages)
    assert recipients == [(BOSS,), (CHI_BOSS, KARA), (MIKE,)]  # each message exactly once
    mike = deliveries()[("MKE", MIKE)]
    assert mike["status"] == "failed" and "interrupted" in mike["error"]
    # The operator decides: a retry re-sends the one whose delivery is unknown.
    send_day("shop", D1, now=MORNING, retry_failed=True)
    assert deliveries()[("MKE", MIKE)]["status"] == "sent" and len(smtp_sink.messages) == 4


def test_a_refused_recipient_is_recorded_and_retried_alone(shop, smtp_sink):
    smtp_sink.reject.add(KARA)
    outcome = send_day("shop", D1, now=MORNING)

    assert outcome.sent == 2 and outcome.failed == 1
    rows = deliveries()
    assert rows[("CHI", KARA)]["status"] == "failed" and rows[("CHI", KARA)]["smtp_code"] == 550
    assert "mailbox unavailable" in rows[("CHI", KARA)]["error"]
    assert rows[("CHI", CHI_BOSS)]["status"] == "sent"
    chicago = [m for m in smtp_sink.messages if CHI_BOSS in m.rcpt_tos]
    assert len(chicago) == 1 and chicago[0].rcpt_tos == [CHI_BOSS]

    smtp_sink.reject.clear()
    smtp_sink.clear()
    from click.testing import CliRunner

    from ga_intel.cli import main

    result = CliRunner().invoke(main, ["email", "retry", "--tenant", "shop", "--date", D1.isoformat()])
    assert result.exit_code == 0, result.output
    assert [m.rcpt_tos for m in smtp_sink.messages] == [[KARA]]  # the manager is not sent a second copy
    assert deliveries()[("CHI", KARA)]["status"] == "sent" and deliveries()[("CHI", KARA)]["attempts"] == 2


def test_wrong_credentials_fail_clearly_without_the_password(shop, smtp_sink):
    wrong = "not-the-password-" + "x" * 8
    store.update_section("shop", "smtp", {**store.redacted(store.get("shop"))["smtp"], "password": wrong})
    sleeps = []
    outcome = send_day("shop", D1, now=MORNING, sleep=sleeps.append)

    assert outcome.sent == 0 and outcome.failed == 3 and not smtp_sink.messages
    assert sleeps == []  # a refused login is not retried: it would only lock the account
    for row in deliveries().values():
        if row["status"] == "failed":
            assert "rejected the login of 'reports'" in row["error"]
            assert wrong not in row["error"] and smtp_sink.password not in row["error"]
    assert wrong not in outcome.summary()


def test_server_down_retries_with_backoff_then_fails(shop, smtp_sink):
    from ga_intel import ports

    # A new port needs the password again (it would otherwise go to whoever listens there).
    store.update_section(
        "shop",
        "smtp",
        {**store.redacted(store.get("shop"))["smtp"], "port": ports.free_port(), "password": smtp_sink.password},
    )
    store.update_section(
        "shop",
        "email",
        {**store.redacted(store.get("shop"))["email"], "retry_attempts": 3, "retry_backoff_seconds": 0.5},
    )
    sleeps = []
    outcome = send_day("shop", D1, now=MORNING, sleep=sleeps.append)

    assert outcome.failed == 3 and outcome.sent == 0
    assert sleeps == [0.5, 1.0] * 2  # two reports, three tries each, doubling backoff
    for row in deliveries().values():
        if row["status"] != "skipped":
            assert row["status"] == "failed" and "cannot connect" in row["error"] and row["attempts"] == 1


def test_incomplete_data_waits_then_sends_with_a_note_after_the_deadline(shop, smtp_sink):
    shop.available(D1, status="failed")

    waiting = send_day("shop", D1, now=MORNING)
    assert waiting.state == "waiting" and "is failed" in waiting.reason
    assert not smtp_sink.messages and not deliveries()

    late = send_day("shop", D1, now=AFTER_DEADLINE)
    assert late.state == "done" and late.data_incomplete and late.sent == 3
    html = parsed(smtp_sink)[0].get_body(("html",)).get_content()
    assert "Data incomplete." in html
    assert all(r["data_incomplete"] for r in deliveries().values())


def test_old_days_do_not_send_on_their_own(shop, smtp_sink):
    outcome = send_day("shop", D1, now=MORNING + dt.timedelta(days=10))
    assert outcome.state == "too_old" and not smtp_sink.messages and not deliveries()


def test_tenant_template_override(db, secret_key, smtp_sink):
    template = (
        '{% extends "_base.html" %}{% block tasks %}<p>OVERRIDE {{ open_tasks }} tasks for '
        "{{ branch_name }}</p>{% endblock %}{% block body %}<tr><td>{{ self.tasks() }}</td></tr>{% endblock %}"
    )
    shop = Shop(
        "shop",
        data=shop_data(
            smtp_sink,
            subject="[{{ tenant_name }}] {{ branch_name }} {{ date }}",
            intro="Good morning, <b>team</b> {{ branch_name }}!",
            primary_color="#aa0000",
            branch_template=template,
        ),
    )
    shop.purchase(D1, 15, 1250.0, "T-100", customer="u1")
    shop.available(D1)
    shop.run(D1)
    send_day("shop", D1, now=MORNING)

    chicago = next(m for m in parsed(smtp_sink) if CHI_BOSS in m["To"])
    assert chicago["Subject"] == "[Shop Supply] Chicago 2024-03-04"
    html = chicago.get_body(("html",)).get_content()
    assert "OVERRIDE 1 tasks for Chicago" in html
    assert "Good morning, &lt;b&gt;team&lt;/b&gt; Chicago!" in html  # tenant text is escaped
    assert "#aa0000" in html


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            {"branch_template": "{% block figures %}{% endblock %}{% block links %}{% endblock %}"},
            "email.branch_template: missing required block(s) tasks",
        ),
        (
            {"branch_template": "{% extends 'branch_report.html' %}{% block tasks %}{{ no_such_thing }}{% endblock %}"},
            "email.branch_template: does not render: 'no_such_thing' is undefined",
        ),
        (
            {"summary_template": "{% extends '_base.html' %}{% block branches %}{% for b in branches %}{% endblock %}"},
            "email.summary_template: template syntax error on line 1",
        ),
        ({"subject": "{{ branch_name "}, "email.subject: template syntax error"),
        ({"intro": "{{ ''.__class__.__mro__ }}"}, "email.intro: access to attribute '__class__'"),
    ],
)
def test_a_broken_template_is_rejected_when_saved(db, secret_key, settings, message):
    with pytest.raises(TenantFileError) as err:
        tenant_file.validate(tenant_data("acme", email=settings), "acme.yaml")
    assert message in str(err.value)
    store.add(tenant_file.validate(tenant_data("acme"), "acme.yaml"))
    with pytest.raises(TenantFileError):
        store.update_section("acme", "email", settings)
    assert store.get("acme").email.branch_template is None  # nothing was saved


def test_preview_writes_html_without_sending(shop, smtp_sink, tmp_path):
    from click.testing import CliRunner

    from ga_intel.cli import main

    out = tmp_path / "chi.html"
    result = CliRunner().invoke(
        main, ["email", "preview", "--tenant", "shop", "--branch", "CHI", "--date", D1.isoformat(), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Chen Plumbing" in out.read_text() and "Chen Plumbing" in out.with_suffix(".txt").read_text()
    assert not smtp_sink.messages and not deliveries()
    unknown = CliRunner().invoke(
        main, ["email", "preview", "--tenant", "shop", "--branch", "NOPE", "--date", D1.isoformat(), "--out", str(out)]
    )
    assert unknown.exit_code != 0 and "branch 'NOPE' is not in tenant 'shop'" in unknown.output


def test_sensor_requests_once_tasks_exist_and_schedule_at_the_send_hour(shop, smtp_sink, monkeypatch):
    import ga_intel.email.automation as automation

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", ["shop"])
        # The sensor reads the clock; pin it to the morning after D1.
        monkeypatch.setattr(automation.dt, "datetime", _FrozenDatetime)
        empty = email_ready_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(empty, dg.SkipReason) and "tasks for 2024-03-04 not materialized" in empty.skip_message

        shop.run(D1, instance)  # the tasks partition now exists in this instance
        [request] = email_ready_sensor(dg.build_sensor_context(instance=instance))
        assert request.run_key == "email:shop:2024-03-04:ready"
        assert request.partition_key == dg.MultiPartitionKey({"tenant": "shop", "date": "2024-03-04"})

        at_send_hour = dt.datetime.combine(D1 + dt.timedelta(days=1), dt.time(7, 0), CHICAGO)
        [scheduled] = email_daily_schedule(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=at_send_hour)
        )
        assert scheduled.run_key == "email:shop:2024-03-04"
        off_hour = email_daily_schedule(
            dg.build_schedule_context(instance=instance, scheduled_execution_time=at_send_hour + dt.timedelta(hours=1))
        )
        assert isinstance(off_hour, dg.SkipReason)

        send_day("shop", D1, now=MORNING)  # once the ledger holds the report, neither asks again
        assert isinstance(email_ready_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        assert isinstance(
            email_daily_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=at_send_hour)),
            dg.SkipReason,
        )


class _FrozenDatetime(dt.datetime):
    @classmethod
    def now(cls, tz=None):
        return MORNING.astimezone(tz) if tz else MORNING.replace(tzinfo=None)


def test_each_reps_list_is_capped_with_the_rest_counted_and_linked(db, secret_key, smtp_sink):
    shop = Shop("capped", data={**shop_data(smtp_sink), "id": "capped"}, daily_list_cap=2)
    for n in range(5):
        shop.purchase(D1, 9 + n, 100.0 + n, f"T-{n}", customer="u1")
    shop.available(D1)
    shop.run(D1)
    config = store.get("capped")
    with tenant_scope("capped") as conn:
        [kara] = content.rep_lists(conn, config, D1, "CHI")
    assert (kara.rep_email, kara.total, len(kara.tasks), kara.more) == ("kara@shop.example", 5, 2, 3)
    assert [t.title for t in kara.tasks] == [
        "Thank Ava Chen for order T-4 (104.00 USD)",
        "Thank Ava Chen for order T-3 (103.00 USD)",
    ]  # by score: value
    assert kara.link.endswith("/tasks?tenant=capped&branch=CHI&rep=kara%40shop.example")
    send_day("capped", D1, now=MORNING)
    chicago = next(m for m in parsed(smtp_sink) if "Chicago" in m["Subject"])
    html = chicago.get_body(("html",)).get_content()
    assert "and 3 more" in html and "T-2" not in html


def test_a_change_from_a_near_zero_base_reads_new_or_times(shop):
    from ga_intel.email.content import Figure

    assert Figure("Revenue", 86286.46, 285.0, "money").change_text == "×303"
    assert Figure("Revenue", 500.0, 0.0, "money").change_text == "new"
    assert Figure("Revenue", 120.0, 100.0, "money").change_text == "+20%"
    assert Figure("Revenue", 80.0, 100.0, "money").change_text == "−20%"
    assert Figure("Revenue", 0.0, 0.0, "money").change_text is None
    assert Figure("Session conversion", 0.05, 0.04, "percent").change_text == "+1.0 pp"
