"""Finding 4: a tenant admin must not get a stored secret sent to a host of their choice,
nor make the platform connect into its own network.

The attack: edit a connection's endpoint and leave its secret blank (the form's "keep
the stored one"), then press "Test connection": the stored SMTP password went to the
attacker's server. Here the attacker's server is a second real SMTP server that records
every password it is offered; the tenant's real server is the session's SMTP sink.

The second attack points a connection at loopback, link-local or private addresses
(the metadata service, the platform's own database). In production nothing in those
networks is allowed; the suite allows 127.0.0.0/8 for its servers (conftest), so these
tests take that allowance away first, as a production deployment would have it.
"""

from __future__ import annotations

import json
import socket

import pytest

from ga_intel.connectors import check_section, postgres, sftp
from ga_intel.devservices.smtp_server import SmtpSink
from ga_intel.errors import TenantFileError
from ga_intel.tenancy import store, tenant_file
from ga_intel.tenancy.tenant_file import PostgresSettings, SftpSettings
from ga_intel_tests.conftest import SA_PRIVATE_KEY_MARKER, tenant_data


@pytest.fixture
def attacker(tmp_path, smtp_sink):
    """The attacker's SMTP server: keeps every password offered. It presents the tenant
    server's certificate, so TLS is no obstacle (the worst case: a stolen or shared CA)."""
    import shutil

    offered: list[bytes] = []
    (tmp_path / "attacker").mkdir()
    for name in ("cert.pem", "key.pem"):
        shutil.copy(smtp_sink.folder / name, tmp_path / "attacker" / name)
    sink = SmtpSink(tmp_path / "attacker", user="reports", password="anything")

    def record(server, session, envelope, mechanism, auth_data):
        offered.append(bytes(getattr(auth_data, "password", b"") or b""))
        return SmtpSink._authenticator(sink, server, session, envelope, mechanism, auth_data)

    sink._authenticator = record
    sink.offered = offered
    with sink:
        yield sink


@pytest.fixture
def tenant(db, secret_key, smtp_sink):
    data = tenant_data("acme")
    data["smtp"].update(port=smtp_sink.port, password=smtp_sink.password, tls_ca_file=str(smtp_sink.cert_file))
    store.add(tenant_file.validate(data, "test"))
    assert check_section("smtp", store.get("acme")).ok
    return smtp_sink


@pytest.fixture
def strict(monkeypatch):
    """Production's default: no operator allowance."""
    monkeypatch.delenv("GA_INTEL_ALLOWED_NETWORKS", raising=False)


def listener():
    """A real TCP server that nothing should ever reach."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    return sock


def reached(sock) -> bool:
    try:
        sock.accept()[0].close()
        return True
    except BlockingIOError:
        return False


def test_a_new_endpoint_needs_the_secret_again(tenant, attacker):
    shown = store.redacted(store.get("acme"))["smtp"]
    before = store.get("acme").smtp
    # The attacker's port, the password left blank (or masked).
    for blank in (None, "", store.MASK):
        with pytest.raises(TenantFileError) as err:
            store.update_section("acme", "smtp", {**shown, "port": attacker.port, "password": blank})
        problems = dict(err.value.problems)
        assert "port changed: enter the password again" in problems["smtp.password"]
    # Which CA to trust is a host path: the operator's, never the dashboard's.
    with pytest.raises(TenantFileError) as err:
        store.update_section(
            "acme", "smtp", {**shown, "tls_ca_file": "/etc/ssl/certs/ca-certificates.crt", "password": "typed"}
        )
    assert "set by the platform operator" in dict(err.value.problems)["smtp.tls_ca_file"]
    assert store.get("acme").smtp == before
    # "Test connection" tries what is stored: the tenant's own server, never the attacker's.
    assert check_section("smtp", store.get("acme")).ok
    assert attacker.offered == []
    # The server name, the login name and TLS count as the endpoint too.
    for change in ({"server": "localhost"}, {"user_name": "other"}, {"use_tls": False}):
        with pytest.raises(TenantFileError) as err:
            store.update_section("acme", "smtp", {**shown, **change})
        assert "smtp.password" in dict(err.value.problems)
    assert store.get("acme").smtp == before and attacker.offered == []
    # Typing the secret again is the way: then the admin sends only what they know.
    store.update_section("acme", "smtp", {**shown, "port": attacker.port, "password": "what-the-admin-typed"})
    check_section("smtp", store.get("acme"))
    assert set(attacker.offered) == {b"what-the-admin-typed"}  # (smtplib tries two AUTH methods)
    assert tenant.password.encode() not in attacker.offered


def test_sftp_and_bigquery_secrets_are_bound_to_their_endpoints(tenant, sshd):
    # SFTP: the sshd is the tenant's server; moving the host or port keeps no password.
    data = tenant_data("beta")
    del data["folder"]
    data["sftp"] = sshd.settings()
    store.add(tenant_file.validate(data, "test"))
    shown = store.redacted(store.get("beta"))["sftp"]
    for change in ({"host": "localhost"}, {"port": 2222}, {"username": "root"}):
        with pytest.raises(TenantFileError) as err:
            store.update_section("beta", "sftp", {**shown, **change})
        assert "enter the password again" in dict(err.value.problems)["sftp.password"]
    assert store.redacted(store.get("beta"))["sftp"] == shown
    data = store.redacted(store.get("acme"))
    # BigQuery: the service-account key never follows a new endpoint or project.
    for change in ({"api_endpoint": "https://bq.attacker.example"}, {"project_id": "other-project"}):
        with pytest.raises(TenantFileError) as err:
            store.update_section("acme", "bigquery", {**data["bigquery"], **change})
        assert "enter the service account again" in dict(err.value.problems)["bigquery.service_account"]
    assert SA_PRIVATE_KEY_MARKER in store.get("acme").bigquery.service_account.get_secret_value()
    assert store.get("acme").bigquery.api_endpoint is None


@pytest.mark.parametrize(
    "host, kind",
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("0.0.0.0", "unspecified"),
    ],
)
def test_private_targets_are_refused_when_saved(tenant, strict, host, kind):
    shown = store.redacted(store.get("acme"))["smtp"]
    with pytest.raises(TenantFileError) as err:
        store.update_section("acme", "smtp", {**shown, "server": host, "port": 2526, "password": "typed-again"})
    message = dict(err.value.problems)["smtp.server"]
    assert kind in message and "GA_INTEL_ALLOWED_NETWORKS" in message
    assert store.get("acme").smtp.server == "127.0.0.1"
    data = store.redacted(store.get("acme"))["bigquery"]
    endpoint = f"http://[{host}]:80/" if ":" in host else f"http://{host}/"
    with pytest.raises(TenantFileError) as err:
        store.update_section(
            "acme",
            "bigquery",
            {**data, "api_endpoint": endpoint, "service_account": tenant_data("acme")["bigquery"]["service_account"]},
        )
    message = dict(err.value.problems)["bigquery.api_endpoint"]
    assert kind in message and "GA_INTEL_ALLOWED_NETWORKS" in message
    assert store.get("acme").bigquery.api_endpoint is None


def test_stored_private_targets_are_never_connected(tenant, strict, sshd, platform_db):
    trap = listener()
    try:
        # Stored before this check existed: the SMTP server is now a loopback trap.
        config = store.get("acme")
        config.smtp.__dict__["port"] = trap.getsockname()[1]
        result = check_section("smtp", config)
        assert not result.ok and "loopback" in result.detail
        assert not reached(trap)
        # The tenant's own SMTP sink, the sshd and the platform's PostgreSQL, all loopback.
        assert "loopback" in check_section("smtp", store.get("acme")).detail
        assert "loopback" in sftp.check(SftpSettings(**sshd.settings())).detail
        pg = postgres.check(
            PostgresSettings(
                host="127.0.0.1",
                port=platform_db.port,
                database=platform_db.database,
                username=platform_db.username or "postgres",
                password="x",
            )
        )
        assert not pg.ok and "loopback" in pg.detail and "GA_INTEL_ALLOWED_NETWORKS" in pg.detail
    finally:
        trap.close()
    assert tenant.messages == []


def test_the_operator_allows_a_network_explicitly(tenant, monkeypatch):
    monkeypatch.setenv("GA_INTEL_ALLOWED_NETWORKS", "10.0.0.0/8")  # not loopback
    assert "loopback" in check_section("smtp", store.get("acme")).detail
    monkeypatch.setenv("GA_INTEL_ALLOWED_NETWORKS", "10.0.0.0/8, 127.0.0.1/32")
    assert check_section("smtp", store.get("acme")).ok
    monkeypatch.setenv("GA_INTEL_ALLOWED_NETWORKS", "10.0.0.0/33")
    assert "GA_INTEL_ALLOWED_NETWORKS" in check_section("smtp", store.get("acme")).detail
    json.dumps(store.redacted(store.get("acme")))  # nothing about the check is stored
