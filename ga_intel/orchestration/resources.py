"""Dagster resources for the four services a tenant pipeline talks to.

None of them carries a secret in its config: a run names only its tenant (through its
partition key), and the resource loads that tenant's settings from the control plane and
decrypts them in memory when the asset asks for a client. So secrets never reach run
config, run tags, the event log or the Dagster UI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from sqlalchemy.engine import Connection

from ga_intel.tenancy.tenant_file import TenantConfig


class TenantSettingsResource(dg.ConfigurableResource):
    """A tenant's stored settings, secrets decrypted (in memory only)."""

    def load(self, tenant_id: str) -> TenantConfig:
        from ga_intel.tenancy import store

        return store.get(tenant_id)


class BigQueryResource(dg.ConfigurableResource):
    """A google-cloud-bigquery client for a tenant's GA4 export (or an emulator).

    dagster-gcp's BigQueryResource takes one project's credentials in config and has no
    endpoint hook for an emulator, so this builds the client per tenant instead."""

    tenant_settings: TenantSettingsResource

    def client(self, tenant_id: str):
        from ga_intel.connectors import bigquery

        return bigquery.client(self.tenant_settings.load(tenant_id).bigquery)


class MasterDataResource(dg.ConfigurableResource):
    """The tenant's master-data files: over SFTP, or from a local folder."""

    tenant_settings: TenantSettingsResource

    @contextmanager
    def session(self, tenant_id: str) -> Iterator:
        config = self.tenant_settings.load(tenant_id)
        if config.sftp is not None:
            from ga_intel.connectors import sftp

            with sftp.open_session(config.sftp) as s:
                yield s
        else:
            from ga_intel.connectors import folder

            with folder.open_session(config.folder, tenant_id) as s:
                yield s


class SmtpResource(dg.ConfigurableResource):
    """A logged-in SMTP connection for a tenant's outgoing reports."""

    tenant_settings: TenantSettingsResource

    @contextmanager
    def connect(self, tenant_id: str) -> Iterator:
        from ga_intel.connectors import smtp

        with smtp.connect(self.tenant_settings.load(tenant_id).smtp) as conn:
            yield conn


class WarehouseResource(dg.ConfigurableResource):
    """The platform PostgreSQL, entered per tenant under row-level security."""

    @contextmanager
    def tenant_scope(self, tenant_id: str) -> Iterator[Connection]:
        from ga_intel.db import tenant_scope

        with tenant_scope(tenant_id) as conn:
            yield conn


def build_resources() -> dict[str, dg.ConfigurableResource]:
    tenant_settings = TenantSettingsResource()
    return {
        "tenant_settings": tenant_settings,
        "bigquery": BigQueryResource(tenant_settings=tenant_settings),
        "master_data": MasterDataResource(tenant_settings=tenant_settings),
        "smtp": SmtpResource(tenant_settings=tenant_settings),
        "warehouse": WarehouseResource(),
    }
