"""Tenants in the control plane: encryption at rest, wrong keys, rotation, removal."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from ga_intel import crypto
from ga_intel.db import control, tenant_scope
from ga_intel.errors import SecretKeyError, TenantFileError
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SMTP_PASSWORD, tenant_data


def add(tenant_id="acme", **kw):
    config = tenant_file.validate(tenant_data(tenant_id, **kw), "test")
    store.add(config)
    return config


def settings_rows():
    with control() as conn:
        return conn.execute(
            sa.text("SELECT tenant_id, section, config::text, secrets FROM control.tenant_settings ORDER BY 1, 2")
        ).all()


def test_roundtrip_keeps_secrets_encrypted(db, secret_key):
    original = add()
    rows = settings_rows()
    assert {r.section for r in rows} == {"bigquery", "folder", "smtp", "ga4", "rules", "master_data", "email"}
    for row in rows:
        assert SMTP_PASSWORD not in row.config and SMTP_PASSWORD not in (row.secrets or "")
        assert "private_key" not in row.config
    smtp = next(r for r in rows if r.section == "smtp")
    assert Fernet(secret_key).decrypt(smtp.secrets.encode())  # a real Fernet token
    loaded = store.get("acme")
    assert loaded.smtp.password.get_secret_value() == SMTP_PASSWORD
    assert loaded.bigquery.service_account.get_secret_value() == original.bigquery.service_account.get_secret_value()
    assert loaded.members[0].role == "admin"


def test_duplicate_tenant_id_changes_nothing(db, secret_key):
    add()
    before = settings_rows()
    with pytest.raises(TenantFileError, match="already exists"):
        add(name="Someone Else")
    assert settings_rows() == before
    assert store.get("acme").name == "Acme Supply"


def test_wrong_key_decrypts_nothing_and_writes_nothing(db, secret_key, monkeypatch):
    add()
    before = settings_rows()
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", Fernet.generate_key().decode())
    crypto.reset_keyring()
    with pytest.raises(SecretKeyError, match="cannot decrypt") as err:
        store.get("acme")
    assert "nothing was decrypted or changed" in str(err.value)
    with pytest.raises(SecretKeyError):
        add("beta")
    with pytest.raises(SecretKeyError):
        store.update(tenant_file.validate(tenant_data("acme", name="Overwritten"), "test"))
    with pytest.raises(SecretKeyError):
        store.remove("acme")
    assert settings_rows() == before
    assert store.tenant_ids() == ["acme"]


def test_malformed_key_is_a_clear_error(db, monkeypatch):
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", "not-a-key")
    crypto.reset_keyring()
    with pytest.raises(SecretKeyError, match="not a Fernet key"):
        add()
    crypto.reset_keyring()


def test_rotation_with_key_file_keeps_old_readers_working(db, monkeypatch, ga_intel_home):
    monkeypatch.delenv("GA_INTEL_SECRET_KEY")
    crypto.key_file().unlink(missing_ok=True)
    crypto.reset_keyring()
    add()
    add("beta")
    assert oct(crypto.key_file().stat().st_mode & 0o777) == "0o600"
    old_keys, _ = crypto.load_keys()
    reader = crypto.Keyring()  # a process that started before the rotation

    assert store.rotate_keys() == 4  # bigquery + smtp, two tenants

    new_keys, _ = crypto.load_keys()
    assert new_keys != old_keys and len(new_keys) == 1
    token = next(r.secrets for r in settings_rows() if r.section == "smtp")
    with pytest.raises(InvalidToken):
        Fernet(old_keys[0]).decrypt(token.encode())
    # The old reader meets a token it cannot read, reloads the key file once, and goes on.
    assert reader.decrypt(token)["password"] == SMTP_PASSWORD
    crypto.reset_keyring()
    assert store.get("beta").smtp.password.get_secret_value() == SMTP_PASSWORD
    crypto.key_file().unlink()
    crypto.reset_keyring()


def test_rotation_with_env_keys(db, secret_key, monkeypatch):
    add()
    with pytest.raises(SecretKeyError, match="holds one key"):
        store.rotate_keys()
    new = Fernet.generate_key().decode()
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", f"{new},{secret_key}")
    crypto.reset_keyring()
    assert store.rotate_keys() == 2
    monkeypatch.setenv("GA_INTEL_SECRET_KEY", new)  # the old key retired
    crypto.reset_keyring()
    assert store.get("acme").smtp.password.get_secret_value() == SMTP_PASSWORD


def test_update_section_keeps_masked_secret_and_validates(db, secret_key):
    add()
    shown = store.redacted(store.get("acme"))
    assert shown["smtp"]["password"] == store.MASK
    store.update_section("acme", "smtp", dict(shown["smtp"], from_name="Acme Desk"))
    stored = store.get("acme").smtp
    assert stored.from_name == "Acme Desk" and stored.password.get_secret_value() == SMTP_PASSWORD
    # A new endpoint needs the secret typed again (security finding 4).
    smtp = dict(shown["smtp"], from_name="Acme Desk", port=465, use_ssl=True)
    with pytest.raises(TenantFileError) as err:
        store.update_section("acme", "smtp", smtp)
    assert "port, use_tls, use_ssl changed" in dict(err.value.problems)["smtp.password"]
    smtp["password"] = SMTP_PASSWORD
    store.update_section("acme", "smtp", smtp)
    stored = store.get("acme").smtp
    assert stored.port == 465 and stored.password.get_secret_value() == SMTP_PASSWORD
    with pytest.raises(TenantFileError) as err:
        store.update_section("acme", "smtp", dict(smtp, port=0))
    assert "smtp.port" in dict(err.value.problems)
    assert store.get("acme").smtp.port == 465


def test_remove_deletes_settings_and_only_that_tenants_data(db, secret_key):
    add()
    add("beta")
    for t in ("acme", "beta"):
        with tenant_scope(t) as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                    "VALUES (:t, 'B1', 'rep@x.example', 'Rep')"
                ),
                {"t": t},
            )
    deleted = store.remove("acme")
    assert deleted["sales_reps"] == 1
    assert store.tenant_ids() == ["beta"]
    with tenant_scope("acme") as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.sales_reps")).scalar() == 0
    with tenant_scope("beta") as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM tenant_data.sales_reps")).scalar() == 1
    with control() as conn:
        assert (
            conn.execute(sa.text("SELECT count(*) FROM control.tenant_settings WHERE tenant_id = 'acme'")).scalar() == 0
        )
