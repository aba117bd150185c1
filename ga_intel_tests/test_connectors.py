"""Connections to tenants' services, against real servers: OpenSSH sshd, an SMTP server
with STARTTLS and AUTH, and the BigQuery emulator through google-cloud-bigquery."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import pytest
from google.cloud import bigquery as bq

from ga_intel import ports
from ga_intel.connectors import bigquery, check_all, folder, postgres, sftp, smtp
from ga_intel.errors import ServiceError
from ga_intel.tenancy.tenant_file import (
    BigQuerySettings,
    FolderSettings,
    PostgresSettings,
    SftpSettings,
    SmtpSettings,
    validate,
)
from ga_intel_tests.conftest import drop_folder


def keygen(tmp_path, name: str, *args: str, passphrase: str = "") -> tuple[str, str]:
    """(private key text, "type base64" public key) from ssh-keygen."""
    path = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", *args, "-N", passphrase, "-C", name, "-f", str(path)], check=True)
    return path.read_text(), " ".join(path.with_suffix(".pub").read_text().split()[:2])


@pytest.fixture
def silent_server():
    """A TCP port that accepts connections and then says nothing, or says `greeting`."""
    servers = []

    def start(greeting: bytes | None = None) -> int:
        srv = socket.create_server(("127.0.0.1", 0))
        servers.append(srv)
        held = []

        def serve():
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                if greeting is not None:
                    conn.sendall(greeting)
                    conn.close()
                else:
                    held.append(conn)  # keep it open and mute

        threading.Thread(target=serve, daemon=True).start()
        return srv.getsockname()[1]

    yield start
    for srv in servers:
        srv.close()


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
        info = session.stat("UserReport.xlsx")
        assert info.size == 5 and abs(info.mtime - time.time()) < 600
    result = sftp.check(settings)
    assert result.ok and "UserReport.xlsx and Locations_List.xlsx present" in result.detail


def test_sftp_key_login(drop):
    settings = SftpSettings(**drop.settings(password=None, private_key=drop.client_private_key))
    with sftp.open_session(settings) as session:
        assert "UserReport.xlsx" in session.listdir()


def test_sftp_encrypted_key_needs_its_passphrase(drop, tmp_path):
    private, public = keygen(tmp_path, "enc", "-t", "ed25519", passphrase="key-passphrase-789")
    drop.authorize(public)
    settings = SftpSettings(
        **drop.settings(password=None, private_key=private, private_key_passphrase="key-passphrase-789")
    )
    with sftp.open_session(settings) as session:
        assert session.read("Locations_List.xlsx") == b"locations"
    with pytest.raises(ServiceError, match="no private_key_passphrase"):
        with sftp.open_session(SftpSettings(**drop.settings(password=None, private_key=private))):
            pass


def test_sftp_wrong_password_is_clear_and_does_not_echo_it(drop):
    settings = SftpSettings(**drop.settings(password="not-the-password-123"))
    with pytest.raises(ServiceError, match="authentication failed") as err:
        with sftp.open_session(settings):
            pass
    assert "not-the-password-123" not in str(err.value)


def test_sftp_changed_host_key_is_refused_with_the_offered_fingerprint(drop, tmp_path):
    _, other = keygen(tmp_path, "other", "-t", "ed25519")
    settings = SftpSettings(**drop.settings(host_key=other))
    with pytest.raises(ServiceError, match="different host key") as err:
        with sftp.open_session(settings):
            pass
    offered = subprocess.run(
        ["ssh-keygen", "-l", "-f", "-"], input=drop.host_key_line, capture_output=True, text=True, check=True
    ).stdout.split()[1]  # "SHA256:..."
    assert offered in str(err.value) and "host_key" in err.value.hint


def test_sftp_host_key_of_another_type_is_refused(drop, tmp_path):
    # The server has only an Ed25519 key; a pinned RSA key must not let any key through.
    _, rsa = keygen(tmp_path, "rsa", "-t", "rsa", "-b", "2048")
    result = sftp.check(SftpSettings(**drop.settings(host_key=rsa)))
    assert not result.ok and "host key" in result.detail and "SHA256:" in result.detail


def test_sftp_names_are_confined_to_remote_path(drop):
    settings = SftpSettings(**drop.settings())
    with sftp.open_session(settings) as session:
        for name in ("../../etc/passwd", "/etc/passwd", "..", "sub/x", ""):
            with pytest.raises(ServiceError, match="refusing"):
                session.read(name)
            with pytest.raises(ServiceError, match="refusing"):
                session.stat(name)


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
    result = sftp.check(SftpSettings(**drop.settings(port=ports.free_port())))
    assert not result.ok and "cannot connect" in result.detail


def test_sftp_port_that_is_not_ssh(drop, silent_server):
    for port in (silent_server(), silent_server(b"HTTP/1.1 400 Bad Request\r\n\r\n")):
        started = time.monotonic()
        result = sftp.check(SftpSettings(**drop.settings(port=port, timeout_seconds=1)))
        assert not result.ok and "did not answer as an SSH server" in result.detail
        assert time.monotonic() - started < 5


def test_folder_source():
    drop = drop_folder("acme")
    (drop / "UserReport.xlsx").write_bytes(b"u")
    result = folder.check(FolderSettings(), "acme")
    assert not result.ok and "Locations_List.xlsx missing" in result.detail
    (drop / "Locations_List.xlsx").write_bytes(b"l")
    assert folder.check(FolderSettings(), "acme").ok
    with folder.open_session(FolderSettings(path=str(drop)), "acme") as session:
        assert session.read("UserReport.xlsx") == b"u" and session.stat("Locations_List.xlsx").size == 1
        with pytest.raises(ServiceError, match="refusing"):
            session.read("../secret")
    result = folder.check(FolderSettings(path="absent"), "acme")
    assert not result.ok and "does not exist" in result.detail


# --- SMTP ----------------------------------------------------------------------------


def smtp_settings(sink, **overrides) -> SmtpSettings:
    values = dict(
        server="127.0.0.1",
        port=sink.port,
        user_name=sink.user,
        password=sink.password,
        tls_ca_file=str(sink.cert_file),
        from_name="Reports",
        from_address="reports@acme.example",
        timeout_seconds=5,
    )
    values.update(overrides)
    return SmtpSettings(**values)


def test_smtp_starttls_auth_and_delivery(smtp_sink):
    smtp_sink.reject.add("gone@acme.example")
    settings = smtp_settings(smtp_sink)
    result = smtp.check(settings)
    assert result.ok and "STARTTLS" in result.detail
    with smtp.connect(settings) as conn:
        assert conn.sock.version().startswith("TLS")  # the session is encrypted
        refused = conn.sendmail(
            "reports@acme.example", ["rep@acme.example", "Gone@acme.example"], b"Subject: test\r\n\r\nhello\r\n"
        )
    # A partial refusal: the message went to the others, and the refused address is reported.
    assert list(refused) == ["Gone@acme.example"] and refused["Gone@acme.example"][0] == 550
    [message] = smtp_sink.messages
    assert message.mail_from == "reports@acme.example" and message.rcpt_tos == ["rep@acme.example"]
    assert message.message()["Subject"] == "test"
    [eml] = (smtp_sink.folder / "messages").glob("*.eml")
    assert eml.read_bytes() == message.data


def test_smtp_wrong_password(smtp_sink):
    result = smtp.check(smtp_settings(smtp_sink, password="wrong-pass-456"))
    assert not result.ok and "rejected the login" in result.detail and "535" in result.detail
    assert "wrong-pass-456" not in result.detail


def test_smtp_untrusted_certificate(smtp_sink):
    result = smtp.check(smtp_settings(smtp_sink, tls_ca_file=None))
    assert not result.ok and "not trusted" in result.detail


def test_smtp_server_without_starttls_is_refused():
    from aiosmtpd.controller import Controller

    class Sink:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    plain = Controller(Sink(), hostname="127.0.0.1", port=ports.free_port())
    plain.start()
    try:
        result = smtp.check(
            SmtpSettings(
                server="127.0.0.1",
                port=plain.port,
                user_name="u",
                password="plain-pw-1",
                from_name="R",
                from_address="r@a.example",
                timeout_seconds=5,
            )
        )
        assert not result.ok and "does not offer STARTTLS" in result.detail and "plain-pw-1" not in result.detail
    finally:
        plain.stop()


def test_smtp_unreachable():
    result = smtp.check(
        SmtpSettings(server="127.0.0.1", port=ports.free_port(), from_name="R", from_address="r@a.example")
    )
    assert not result.ok and "cannot connect" in result.detail


def test_smtp_sink_command_line(tmp_path):
    """The entry `make dev` and a demo start; here with --password and a refused address."""
    port = ports.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ga_intel.devservices.smtp_server",
            "--dir",
            str(tmp_path),
            "--port",
            str(port),
            "--user",
            "demo",
            "--password",
            "demo-pw-1",
            "--reject",
            "nobody@acme.example",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "SMTP sink on 127.0.0.1" in proc.stdout.readline()
        settings = SmtpSettings(
            server="127.0.0.1",
            port=port,
            user_name="demo",
            password="demo-pw-1",
            tls_ca_file=str(tmp_path / "cert.pem"),
            from_name="R",
            from_address="r@acme.example",
        )
        with smtp.connect(settings) as conn:
            refused = conn.sendmail(
                "r@acme.example", ["a@acme.example", "nobody@acme.example"], b"Subject: x\r\n\r\nx\r\n"
            )
        assert list(refused) == ["nobody@acme.example"]
        assert len(list((tmp_path / "messages").glob("*.eml"))) == 1
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()


# --- BigQuery ------------------------------------------------------------------------


def test_bigquery_check_against_the_emulator(bigquery_emulator):
    settings = BigQuerySettings(
        project_id="test-project", dataset_id="conn_check", api_endpoint=bigquery_emulator.endpoint
    )
    result = bigquery.check(settings)
    assert not result.ok and "not found" in result.detail
    client = bigquery.client(settings)
    client.create_dataset("test-project.conn_check", exists_ok=True)
    result = bigquery.check(settings)
    assert not result.ok and "no events_YYYYMMDD tables" in result.detail
    schema = [bq.SchemaField("event_name", "STRING"), bq.SchemaField("event_timestamp", "INT64")]
    for day in ("20240101", "20240102"):
        client.create_table(bq.Table(f"test-project.conn_check.events_{day}", schema=schema), exists_ok=True)
    client.create_table(bq.Table("test-project.conn_check.events_intraday_20240103", schema=schema), exists_ok=True)
    assert (
        client.insert_rows_json(
            "test-project.conn_check.events_20240101",
            [{"event_name": "page_view", "event_timestamp": 1704067200000000}],
        )
        == []
    )
    result = bigquery.check(settings)
    assert result.ok and "2 daily table(s), latest events_20240102" in result.detail
    # Reading results must not ask for the storage read API, which the emulator lacks.
    rows = (
        client.query("SELECT event_name, event_timestamp FROM `test-project.conn_check.events_20240101`")
        .to_arrow(create_bqstorage_client=False)
        .to_pylist()
    )
    assert rows == [{"event_name": "page_view", "event_timestamp": 1704067200000000}]


def test_bigquery_unreachable_endpoint_fails_clearly():
    endpoint = f"http://127.0.0.1:{ports.free_port()}"
    started = time.monotonic()
    result = bigquery.check(BigQuerySettings(project_id="test-project", dataset_id="d", api_endpoint=endpoint))
    assert not result.ok and f"cannot reach {endpoint}" in result.detail
    assert time.monotonic() - started < bigquery.TIMEOUT_SECONDS


def test_bigquery_unusable_key_is_not_echoed():
    key = {
        "type": "service_account",
        "client_email": "x@p.iam.gserviceaccount.com",
        "token_uri": "https://t",
        "private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-real-key-material\n-----END PRIVATE KEY-----\n",
    }
    settings = BigQuerySettings(project_id="test-project", dataset_id="d", service_account=json.dumps(key))
    result = bigquery.check(settings)
    assert not result.ok and "not-a-real-key-material" not in result.detail


# --- PostgreSQL ----------------------------------------------------------------------


def test_postgres_unreachable_is_reported_without_the_password():
    # The success path runs against the platform database in the store/CLI tests.
    settings = PostgresSettings(
        host="127.0.0.1", port=ports.free_port(), database="shop", username="reader", password="pg-secret-321"
    )
    result = postgres.check(settings)
    assert not result.ok and "cannot connect to 127.0.0.1" in result.detail and "pg-secret-321" not in result.detail


# --- the whole tenant ----------------------------------------------------------------


def tenant(**sections) -> dict:
    data = {
        "id": "acme",
        "name": "Acme Supply",
        "timezone": "America/Chicago",
        "members": [{"email": "admin@acme.example", "role": "admin"}],
    }
    data.update(sections)
    return data


def test_check_all_reports_per_service(drop, smtp_sink, bigquery_emulator):
    data = tenant(
        sftp=drop.settings(),
        bigquery={"project_id": "test-project", "dataset_id": "missing_ds", "api_endpoint": bigquery_emulator.endpoint},
        smtp=dict(
            server="127.0.0.1",
            port=smtp_sink.port,
            user_name=smtp_sink.user,
            password=smtp_sink.password,
            tls_ca_file=str(smtp_sink.cert_file),
            from_name="R",
            from_address="r@acme.example",
        ),
    )
    results = {r.service: r for r in check_all(validate(data, "test"))}
    assert set(results) == {"bigquery", "sftp", "smtp"}
    assert results["sftp"].ok and results["smtp"].ok
    assert not results["bigquery"].ok and "missing_ds" in results["bigquery"].detail


def test_check_all_never_shows_a_secret(drop, smtp_sink, tmp_path):
    """Every service failing, each with its secrets set: no detail may quote one."""
    key = {
        "type": "service_account",
        "client_email": "x@acme.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
        "private_key": "-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL0123456789\n-----END PRIVATE KEY-----\n",
    }
    data = tenant(
        sftp=drop.settings(password="sftp-secret-654"),
        bigquery={"project_id": "test-project", "dataset_id": "d", "service_account": json.dumps(key)},
        postgres={
            "host": "127.0.0.1",
            "port": ports.free_port(),
            "database": "d",
            "username": "u",
            "password": "pg-secret-987",
        },
        smtp=dict(
            server="127.0.0.1",
            port=smtp_sink.port,
            user_name=smtp_sink.user,
            password="smtp-secret-321",
            tls_ca_file=str(smtp_sink.cert_file),
            from_name="R",
            from_address="r@acme.example",
        ),
    )
    results = check_all(validate(data, "test"))
    assert [r.service for r in results] == ["bigquery", "postgres", "sftp", "smtp"]
    assert not any(r.ok for r in results)
    text = "\n".join(r.detail for r in results)
    for secret in ("sftp-secret-654", "pg-secret-987", "smtp-secret-321", "SECRETKEYMATERIAL0123456789"):
        assert secret not in text
