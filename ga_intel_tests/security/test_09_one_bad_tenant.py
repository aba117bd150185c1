"""Finding 9: one tenant's broken settings must not stop every tenant's runs.

The schedules and sensors built every tenant's config in one expression, so a tenant
whose stored secrets no longer decrypt (a corrupted or foreign token) or whose settings
no longer validate aborted the tick for everyone: no tenant got its GA4 refresh or its
morning email. A tick now loads each tenant on its own: a broken one is logged, recorded
on its Data page and alerted to its admins (through its own SMTP, if that section alone
still loads), and the other tenants get their run requests. Real PostgreSQL, the real
schedules and sensors, and the real SMTP server for the alert."""

from __future__ import annotations

import datetime as dt
from email import policy
from email.parser import BytesParser
from zoneinfo import ZoneInfo

import dagster as dg
import sqlalchemy as sa

from ga_intel.db import control, tenant_scope
from ga_intel.email.automation import email_daily_schedule, email_ready_sensor
from ga_intel.ga4.automation import ga4_daily_refresh
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SA_PRIVATE_KEY_MARKER, tenant_data

CHICAGO = ZoneInfo("America/Chicago")
# 07:00 local: past the GA4 refresh hour (5) and the default email send hour (7).
AT = dt.datetime(2024, 6, 4, 7, 0, tzinfo=CHICAGO)
TENANTS = ("alpha", "broken-key", "invalid", "omega")


def _add(tenant_id: str, sink) -> None:
    data = tenant_data(tenant_id)
    data["smtp"].update(port=sink.port, password=sink.password, tls_ca_file=str(sink.cert_file))
    data["email"] = {"retry_backoff_seconds": 0}
    store.add(tenant_file.validate(data, "test"))


def _failures(tenant_id: str) -> list[dict]:
    with tenant_scope(tenant_id) as conn:
        return [
            dict(r)
            for r in conn.execute(
                sa.text(
                    "SELECT f.job_name, f.failure_type, f.message, a.status, a.error, a.recipients "
                    "FROM tenant_data.pipeline_failures f JOIN tenant_data.pipeline_alerts a USING (tenant_id, failure_type, "
                    "alert_date) ORDER BY f.job_name"
                )
            ).mappings()
        ]


def test_one_tenants_broken_settings_do_not_stop_the_others(db, secret_key, smtp_sink):
    for tenant_id in TENANTS:
        _add(tenant_id, smtp_sink)
    with control() as conn:
        # The attack: one tenant's BigQuery secrets replaced by a token no key decrypts,
        # another's SMTP port by a value that no longer validates.
        conn.execute(
            sa.text(
                "UPDATE control.tenant_settings SET secrets = :bad "
                "WHERE tenant_id = 'broken-key' AND section = 'bigquery'"
            ),
            {"bad": "gAAAAABnot-a-token-any-key-decrypts" + "A" * 80},
        )
        conn.execute(
            sa.text(
                "UPDATE control.tenant_settings SET config = jsonb_set(config, '{port}', '\"x\"') "
                "WHERE tenant_id = 'invalid' AND section = 'smtp'"
            )
        )

    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions("tenant", list(TENANTS))
        refresh = ga4_daily_refresh(dg.build_schedule_context(instance=instance, scheduled_execution_time=AT))
        email = email_daily_schedule(dg.build_schedule_context(instance=instance, scheduled_execution_time=AT))
        ready = email_ready_sensor(dg.build_sensor_context(instance=instance))  # must not raise either
        # A second tick the same day: recorded again, but no second alert.
        ga4_daily_refresh(dg.build_schedule_context(instance=instance, scheduled_execution_time=AT))

    refreshed = {r.partition_key.keys_by_dimension["tenant"] for r in refresh}
    assert refreshed == {"alpha", "omega"}
    assert len(refresh) == 2 * 4  # yesterday and the three restated days before it, each
    assert {r.partition_key.keys_by_dimension["tenant"] for r in email} == {"alpha", "omega"}
    assert isinstance(ready, (list, dg.SkipReason))

    # The broken tenants are recorded on their own Data page, once per job and day.
    broken = _failures("broken-key")
    assert [f["job_name"] for f in broken] == ["email_daily_schedule", "email_ready_sensor", "ga4_daily_refresh"]
    assert all("cannot decrypt tenant 'broken-key' bigquery secrets" in f["message"] for f in broken)
    assert {f["status"] for f in broken} == {"sent"}  # its SMTP section alone still works
    invalid = _failures("invalid")
    assert {f["status"] for f in invalid} == {"failed"}  # its SMTP is what is broken: recorded, not sent
    assert all("smtp.port" in f["message"] for f in invalid)
    assert _failures("alpha") == [] and _failures("omega") == []

    # The alerts went to the broken tenant's admin only, and carry no secret.
    mails = [BytesParser(policy=policy.default).parsebytes(m.data) for m in smtp_sink.messages]
    assert len(mails) == 3
    assert {m["To"] for m in mails} == {"admin@broken-key.example"}
    assert all("settings cannot be read" in m["Subject"] for m in mails)
    everything = "".join(m.get_body(("plain",)).get_content() for m in mails) + repr(broken) + repr(invalid)
    assert smtp_sink.password not in everything and SA_PRIVATE_KEY_MARKER not in everything
