"""Tenant file validation: every bad field reported at once, with its path."""

from __future__ import annotations

import json

import pytest
import yaml

from ga_intel.errors import TenantFileError
from ga_intel.tenancy import tenant_file
from ga_intel_tests.conftest import SMTP_PASSWORD, drop_folder, tenant_data


def problems_of(exc: TenantFileError) -> dict[str, str]:
    return dict(exc.problems)


def write(tmp_path, data) -> str:
    path = tmp_path / "tenant.yaml"
    path.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return str(path)


def test_valid_file_loads_with_defaults(tmp_path):
    config = tenant_file.load_file(write(tmp_path, tenant_data(folder=str(drop_folder("acme")))))
    assert config.id == "acme"
    assert config.smtp.use_tls is True and config.smtp.port == 2525
    assert config.ga4.customer_key == "webuserid" and config.ga4.company_key == "webcustomerid"
    assert config.rules.cart_abandonment_hours == 24
    assert SMTP_PASSWORD not in repr(config)


def test_wrong_types_and_unknown_keys_all_reported(tmp_path):
    data = tenant_data(folder=str(drop_folder("acme")), timezone="Mars/Olympus")
    data["smtp"]["port"] = "not-a-port"
    data["smtp"]["use_tls"] = "sometimes"
    data["smtp"]["from_address"] = "nobody"
    data["bigquery"]["projectid"] = "typo"
    data["colour"] = "blue"
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(write(tmp_path, data))
    problems = problems_of(err.value)
    assert set(problems) >= {
        "timezone",
        "smtp.port",
        "smtp.use_tls",
        "smtp.from_address",
        "bigquery.projectid",
        "colour",
    }
    assert "unknown setting" in problems["colour"]
    assert "nothing was written" in str(err.value)


def test_missing_env_var_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("ACME_SMTP_PASSWORD", raising=False)
    data = tenant_data(folder=str(drop_folder("acme")))
    data["smtp"]["password"] = "${ACME_SMTP_PASSWORD}"
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(write(tmp_path, data))
    assert problems_of(err.value) == {"smtp.password": "environment variable ACME_SMTP_PASSWORD is not set"}


def test_env_var_is_resolved(tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_SMTP_PASSWORD", "from-the-env")
    data = tenant_data(folder=str(drop_folder("acme")))
    data["smtp"]["password"] = "${ACME_SMTP_PASSWORD}"
    config = tenant_file.load_file(write(tmp_path, data))
    assert config.smtp.password.get_secret_value() == "from-the-env"


@pytest.mark.parametrize(
    "service_account, message",
    [
        ("{not json", "not JSON"),
        (json.dumps({"type": "authorized_user"}), "not a service-account key"),
        (json.dumps({"type": "service_account", "client_email": "x@y.z"}), "lacks private_key, token_uri"),
    ],
)
def test_bad_service_account(tmp_path, service_account, message):
    data = tenant_data(folder=str(drop_folder("acme")))
    data["bigquery"]["service_account"] = service_account
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(write(tmp_path, data))
    assert message in problems_of(err.value)["bigquery"]
    # The error must not echo the secret it rejected.
    assert service_account not in str(err.value)


def test_service_account_file_is_read_relative_to_the_tenant_file(tmp_path):
    data = tenant_data(folder=str(drop_folder("acme")))
    (tmp_path / "sa.json").write_text(data["bigquery"].pop("service_account"))
    data["bigquery"]["service_account_file"] = "sa.json"
    config = tenant_file.load_file(write(tmp_path, data))
    assert json.loads(config.bigquery.service_account.get_secret_value())["type"] == "service_account"


def test_sftp_settings_are_checked(tmp_path):
    data = tenant_data()
    del data["folder"]
    data["sftp"] = {
        "host": "sftp.acme.example",
        "port": 70000,
        "username": "acme",
        "host_key": "ssh-ed25519 not-base64!",
        "remote_path": "../up",
    }
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(write(tmp_path, data))
    problems = problems_of(err.value)
    assert {"sftp.port", "sftp.host_key", "sftp.remote_path"} <= set(problems)


def test_exactly_one_master_data_source(tmp_path):
    data = tenant_data()
    del data["folder"]
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(write(tmp_path, data))
    assert "exactly one master-data source" in str(err.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(write(tmp_path, "id: acme\nsmtp: [unclosed\n"))
    assert "line" in str(err.value) and "not valid YAML" in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(TenantFileError, match="file not found"):
        tenant_file.load_file(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "name, value",
    [
        ("GA_INTEL_SECRET_KEY", None),  # the platform's own variables, by name
        ("GA_INTEL_DATABASE_URL", "postgresql://ga:pw@db/ga_intel"),
        ("DAGSTER_HOME", "/srv/dagster"),
        ("PGPASSWORD", "pg-secret"),
        ("REPORTING_DATABASE_URL", "postgresql://r@db/r"),
        ("SOME_DSN", "postgresql://owner:hunter2@db:5432/x"),  # any variable holding a URL with credentials
        ("COPIED_KEY", None),  # any variable holding the platform's key
    ],
)
def test_a_tenant_file_cannot_read_the_platforms_variables(tmp_path, monkeypatch, name, value):
    import os

    value = value or os.environ["GA_INTEL_SECRET_KEY"]
    monkeypatch.setenv(name, value)
    data = tenant_data(folder=str(drop_folder("acme")))
    data["name"] = "${" + name + "}"  # a field every member of the tenant sees
    with pytest.raises(TenantFileError) as err:
        tenant_file.load_file(write(tmp_path, data))
    problems = problems_of(err.value)
    assert f"${{{name}}}" in problems["name"] and "may not read it" in problems["name"]
    assert value not in str(err.value)


@pytest.mark.parametrize(
    "project_id, ok",
    [
        ("acme-analytics", True),
        ("example.com:acme-ga", True),
        ("a23456", True),
        ("p", False),
        ("Acme-GA", False),
        ("acme-ga-", False),
        ("1acme-ga", False),
        ("acme ga", False),
        ("acme-ga/../../other", False),
        ("x" * 31, False),
    ],
)
def test_bigquery_project_id_follows_gcps_pattern(project_id, ok):
    data = tenant_data()
    data["bigquery"]["project_id"] = project_id
    if ok:
        assert tenant_file.validate(data, "t.yaml").bigquery.project_id == project_id
    else:
        with pytest.raises(TenantFileError) as err:
            tenant_file.validate(data, "t.yaml")
        assert "not a GCP project id" in problems_of(err.value)["bigquery.project_id"]
