"""Clients for a tenant's external services, and the checks behind `tenant check`.

Each service module offers a way to connect (raising `ServiceError` with a clear message
and hint) and a `check(settings) -> CheckResult` that never raises for a service failure.
No message built here ever contains a password, private key or service-account JSON.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    service: str
    ok: bool
    detail: str


def guarded(service: str, fn, *args) -> CheckResult:
    """Run a check; any error becomes a failed result with the error's message."""
    from ga_intel.errors import GaIntelError

    try:
        return fn(*args)
    except GaIntelError as exc:
        return CheckResult(service, False, str(exc))
    except Exception as exc:  # a check must report, never crash the command
        return CheckResult(service, False, f"{type(exc).__name__}: {exc}")


def check_all(config) -> list[CheckResult]:
    """Check every service the tenant has configured, in pipeline order."""
    from ga_intel.connectors import bigquery, folder, postgres, sftp, smtp

    results = [guarded("bigquery", bigquery.check, config.bigquery)]
    if config.postgres is not None:
        results.append(guarded("postgres", postgres.check, config.postgres))
    if config.sftp is not None:
        results.append(guarded("sftp", sftp.check, config.sftp))
    if config.folder is not None:
        results.append(guarded("folder", folder.check, config.folder))
    results.append(guarded("smtp", smtp.check, config.smtp))
    return results


def check_section(section: str, config) -> CheckResult:
    """One service's check (the dashboard's "test connection" buttons)."""
    import importlib

    module = importlib.import_module(f"ga_intel.connectors.{section}")
    return guarded(section, module.check, getattr(config, section))
