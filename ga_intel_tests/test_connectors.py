"""Connections to tenants' services, against real servers: OpenSSH sshd, an SMTP server
with STARTTLS and AUTH, and the BigQuery emulator through google-cloud-bigquery."""

from __future__ import annotations

import json
import smtplib
import subprocess

import pytest
from google.cloud import bigquery as bq

from ga_intel.connectors import bigquery, check_all, folder, sftp, smtp
from ga_intel.errors import ServiceError
from ga_intel.tenancy.tenant_file import BigQuerySettings, FolderSettings, SftpSettings, SmtpSettings, validate
from ga_intel_tests.conftest import tenant_data

# --- SFTP ----------------------------------------------------------------------------


@pytest.fixture
def drop(sshd):
    sshd.clear()
    sshd.put("UserReport.xlsx", b"users")
    sshd.put("Locations_List.xlsx", b"locations")
    return sshd


def test_sftp_password_login_lists_and_reads(drop):
    settings = SftpSettings(**drop.settings())
    with sftp.open_session(settings) as session:
        assert session.listdir() == ["Locations_List.xlsx", "UserReport.xlsx"]
        assert session.read("UserReport.xlsx") == b"users"
        assert session.stat("UserReport.xlsx").size == 5
    result = sftp.check(settings)
    assert result.ok and "present" in result.detail


def test_sftp_key_login(drop):
    settings = SftpSettings(**drop.settings(password=None, private_key=drop.client_private_key))
    with sftp.open_session(settings) as session:
        assert "UserReport.xlsx" in session.listdir()


def test_sftp_wrong_password_is_clear_and_does_not_echo_it(drop):
    settings = SftpSettings(**drop.settings(password="not-the-password-123"))
    with pytest.raises(ServiceError, match="authentication failed") as err:
        with sftp.open_session(settings):
            pass
    assert "not-the-password-123" not in str(err.value)


def test_sftp_unknown_host_key_is_refused(drop, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = " ".join((tmp_path / "other.pub").read_text().split()[:2])
    settings = SftpSettings(**drop.settings(host_key=other))
    with pytest.raises(ServiceError, match="host key") as err:
        with sftp.open_session(settings):
            pass
    assert "SHA256:" in str(err.value) and "host_key" in err.value.hint


def test_sftp_names_are_confined_to_remote_path(drop):
    settings = SftpSettings(**drop.settings())
    with sftp.open_session(settings) as session:
        for name in ("../../etc/passwd", "/etc/passwd", "..", "sub/x"):
            with pytest.raises(ServiceError, match="refusing"):
                session.read(name)


def test_sftp_missing_file_and_missing_remote_path(drop):
    drop.clear()
    drop.put("UserReport.xlsx", b"users")
    result = sftp.check(SftpSettings(**drop.settings()))
    assert not result.ok and "Locations_List.xlsx missing" in result.detail
    with pytest.raises(ServiceError, match="not found"):
        with sftp.open_session(SftpSettings(**drop.settings())) as session:
            session.read("Locations_List.xlsx")
    result = sftp.check(SftpSettings(**drop.settings(remote_path="/nonexistent/drop")))
    assert not result.ok and "does not exist" in result.detail


def test_sftp_refused_port(drop):
    result = sftp.check(SftpSettings(**drop.settings(port=1)))
    assert not result.ok and "cannot connect" in result.detail


def test_folder_source(tmp_path):
    (tmp_path / "UserReport.xlsx").write_bytes(b"u")
    result = folder.check(FolderSettings(path=str(tmp_path)))
    assert not result.ok and "Locations_List.xlsx missing" in result.detail
    (tmp_path / "Locations_List.xlsx").write_bytes(b"l")
    assert folder.check(FolderSettings(path=str(tmp_path))).ok
    with folder.open_session(FolderSettings(path=str(tmp_path))) as session:
        with pytest.raises(ServiceError, match="refusing"):
            session.read("../secret")


# --- SMTP ----------------------------------------------------------------------------


def smtp_settings(sink, **overrides) -> SmtpSettings:
    values = dict(server="127.0.0.1", port=sink.port, user_name=sink.user, password=sink.password,
                  tls_ca_file=str(sink.cert_file), from_name="Reports", from_address="reports@acme.example",
                  timeout_seconds=5)
    values.update(overrides)
    return SmtpSettings(**values)


def test_smtp_starttls_auth_and_delivery(smtp_sink):
    smtp_sink.reject.add("gone@acme.example")
    settings = smtp_settings(smtp_sink)
    assert smtp.check(settings).ok
    with smtp.connect(settings) as conn:
        assert conn.sock.version().startswith("TLS")  # the session is encrypted
        refused = conn.sendmail("reports@acme.example", ["rep@acme.example", "gone@acme.example"],
                                b"Subject: test\r\n\r\nhello\r\n")
    assert list(refused) == ["gone@acme.example"] and refused["gone@acme.example"][0] == 550
    [message] = smtp_sink.messages
    assert message.rcpt_tos == ["rep@acme.example"]
    assert message.message()["Subject"] == "test"


def test_smtp_wrong_password(smtp_sink):
    result = smtp.check(smtp_settings(smtp_sink, password="wrong-pass-456"))
    assert not result.ok and "rejected the login" in result.detail and "535" in result.detail
    assert "wrong-pass-456" not in result.detail


def test_smtp_untrusted_certificate(smtp_sink):
    result = smtp.check(smtp_settings(smtp_sink, tls_ca_file=None))
    assert not result.ok and "not trusted" in result.detail


def test_smtp_server_without_starttls_is_refused(tmp_path):
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    from ga_intel import ports

    port = ports.free_port()
    plain = Controller(Sink(), hostname="127.0.0.1", port=port)
    plain.start()
    try:
        result = smtp.check(SmtpSettings(server="127.0.0.1", port=port, from_name="R", from_address="r@a.example"))
        assert not result.ok and "does not offer STARTTLS" in result.detail
    finally:
        plain.stop()


def test_smtp_unreachable():
    result = smtp.check(SmtpSettings(server="127.0.0.1", port=1, from_name="R", from_address="r@a.example"))
    assert not result.ok and "cannot connect" in result.detail


# --- BigQuery ------------------------------------------------------------------------


def test_bigquery_check_against_the_emulator(bigquery_emulator):
    settings = BigQuerySettings(project_id="test-project", dataset_id="conn_check", api_endpoint=bigquery_emulator.endpoint)
    result = bigquery.check(settings)
    assert not result.ok and "not found" in result.detail
    client = bigquery.client(settings)
    client.create_dataset("test-project.conn_check", exists_ok=True)
    for day in ("20240101", "20240102"):
        client.create_table(bq.Table(f"test-project.conn_check.events_{day}",
                                     schema=[bq.SchemaField("event_name", "STRING")]), exists_ok=True)
    client.create_table(bq.Table("test-project.conn_check.events_intraday_20240103",
                                 schema=[bq.SchemaField("event_name", "STRING")]), exists_ok=True)
    result = bigquery.check(settings)
    assert result.ok and "2 daily table(s), latest events_20240102" in result.detail


def test_bigquery_unreachable_endpoint_fails_clearly():
    settings = BigQuerySettings(project_id="p", dataset_id="d", api_endpoint="http://127.0.0.1:1")
    result = bigquery.check(settings)
    assert not result.ok and "cannot reach http://127.0.0.1:1" in result.detail


def test_bigquery_unusable_key_is_not_echoed():
    key = {"type": "service_account", "client_email": "x@p.iam.gserviceaccount.com", "token_uri": "https://t",
           "private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-material\n-----END PRIVATE KEY-----\n"}
    settings = BigQuerySettings(project_id="p", dataset_id="d", service_account=json.dumps(key))
    result = bigquery.check(settings)
    assert not result.ok and "not-a-real-key-material" not in result.detail


# --- the whole tenant ----------------------------------------------------------------


def test_check_all_reports_per_service(drop, smtp_sink, bigquery_emulator):
    data = tenant_data()
    del data["folder"]
    data["sftp"] = drop.settings()
    data["bigquery"] = {"project_id": "test-project", "dataset_id": "missing_ds", "api_endpoint": bigquery_emulator.endpoint}
    data["smtp"] = dict(server="127.0.0.1", port=smtp_sink.port, user_name=smtp_sink.user, password=smtp_sink.password,
                        tls_ca_file=str(smtp_sink.cert_file), from_name="R", from_address="r@acme.example")
    results = {r.service: r for r in check_all(validate(data, "test"))}
    assert set(results) == {"bigquery", "sftp", "smtp"}
    assert results["sftp"].ok and results["smtp"].ok
    assert not results["bigquery"].ok and "missing_ds" in results["bigquery"].detail
