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


def master_files_result(service: str, settings, names: set[str], reached: str, found: str) -> CheckResult:
    """Whether both master-data files are among `names` (an SFTP or folder listing);
    `reached` and `found` say where, for the failure and the success message."""
    missing = [f for f in (settings.user_file, settings.locations_file) if f not in names]
    if missing:
        return CheckResult(service, False, f"{reached}, but {', '.join(missing)} missing")
    return CheckResult(service, True, f"{found}{settings.user_file} and {settings.locations_file} present")


def _secrets(settings) -> list[str]:
    """The secret values of a settings section, longest first."""
    import json

    from pydantic import SecretStr

    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name, None)
        if not isinstance(value, SecretStr):
            continue
        texts = [value.get_secret_value()]
        try:
            # A library quotes the decoded private key of a service-account JSON, not the JSON.
            parsed = json.loads(texts[0])
            if isinstance(parsed, dict):
                texts += [parsed[k] for k in ("private_key", "private_key_id") if isinstance(parsed.get(k), str)]
        except ValueError:
            pass
        for text in texts:
            values.append(text)
            # A key can also leak a line at a time.
            values.extend(line.strip() for line in text.splitlines() if len(line.strip()) >= 16)
    return sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)


def redact(text: str, settings) -> str:
    """`text` with every secret of `settings` masked.

    The messages built in this package never quote a secret; this is the backstop for
    text we do not control (a library's or a server's error message)."""
    for secret in _secrets(settings):
        text = text.replace(secret, "***")
    return text


def guarded(service: str, fn, settings) -> CheckResult:
    """Run `fn(settings)`; any error becomes a failed result, and no detail shows a secret."""
    from ga_intel.errors import GaIntelError

    try:
        result = fn(settings)
    except GaIntelError as exc:
        result = CheckResult(service, False, str(exc))
    except Exception as exc:  # a check must report, never crash the command
        result = CheckResult(service, False, f"{type(exc).__name__}: {str(exc)[:500]}")
    return CheckResult(result.service, result.ok, redact(result.detail, settings))


def check_all(config) -> list[CheckResult]:
    """Check every service the tenant has configured, in pipeline order."""
    from ga_intel.connectors import bigquery, folder, postgres, sftp, smtp

    results = [guarded("bigquery", bigquery.check, config.bigquery)]
    if config.postgres is not None:
        results.append(guarded("postgres", postgres.check, config.postgres))
    if config.sftp is not None:
        results.append(guarded("sftp", sftp.check, config.sftp))
    if config.folder is not None:
        results.append(guarded("folder", lambda s: folder.check(s, config.id), config.folder))
    results.append(guarded("smtp", smtp.check, config.smtp))
    return results


def check_section(section: str, config) -> CheckResult:
    """One service's check (the dashboard's "test connection" buttons)."""
    import importlib

    module = importlib.import_module(f"ga_intel.connectors.{section}")
    if section == "folder":  # confined to the tenant's own drop folder
        return guarded(section, lambda s: module.check(s, config.id), config.folder)
    return guarded(section, module.check, getattr(config, section))
