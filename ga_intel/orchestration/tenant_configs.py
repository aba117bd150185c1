"""Each tenant's settings for a schedule or sensor tick, one tenant at a time.

A tick that built every tenant's config in one expression stopped at the first tenant
whose settings cannot be decrypted or no longer validate, and no tenant got its runs.
Here a tenant whose settings cannot be loaded is logged (the error only: secrets never
reach it), recorded and alerted to its admins (`alerts.settings_failure`), and skipped;
every other tenant goes on (docs/SECURITY.md, finding 9).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from ga_intel.errors import GaIntelError
from ga_intel.tenancy.tenant_file import TenantConfig


def _message(exc: Exception) -> str:
    from ga_intel.logs import redact

    text = str(exc) if isinstance(exc, GaIntelError) else f"{type(exc).__name__}: {exc}"
    return redact(text)[:2000]


def each_config(
    tenant_ids: Iterable[str], job_name: str, log, now: dt.datetime | None = None, alert: bool = True
) -> Iterator[TenantConfig]:
    """The settings of each of `tenant_ids` that load; the others are logged, alerted and
    skipped. `log`: a Dagster context's logger (or anything with `.warning`)."""
    from ga_intel.orchestration.alerts import settings_failure
    from ga_intel.tenancy import store

    for tenant_id in tenant_ids:
        try:
            config = store.get(tenant_id)
        except store.TenantNotFound:
            continue  # removed since the list was read
        except Exception as exc:  # noqa: BLE001 - one tenant's settings must not stop the others
            message = _message(exc)
            log.warning(f"{job_name}: skipped tenant {tenant_id}: its settings cannot be loaded: {message}")
            if alert:
                try:
                    log.info(settings_failure(tenant_id, job_name, message, now or dt.datetime.now(dt.UTC)))
                except Exception as alert_exc:  # noqa: BLE001 - the alert is best effort; the log line stands
                    log.warning(f"{job_name}: could not alert tenant {tenant_id}'s admins: {_message(alert_exc)}")
            continue
        yield config
