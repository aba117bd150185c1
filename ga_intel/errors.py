"""The one error type users see.

Everything that is the user's to fix (a bad tenant file, a wrong key, an unreachable
server) raises a `GaIntelError` whose message names the field, file or service and says
what to do. The CLI and the Streamlit app print the message and nothing else; a traceback
means a bug in ga-intel, not in the user's input.
"""

from __future__ import annotations


class GaIntelError(Exception):
    """An error the user can act on. `hint` says how."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class TenantFileError(GaIntelError):
    """A tenant file (or a settings edit) failed validation; `problems` lists every bad field."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {path}: {msg}" for path, msg in problems)
        super().__init__(f"{source} is invalid ({len(problems)} problem(s)); nothing was written:\n{lines}")


class SecretKeyError(GaIntelError):
    """The configured encryption key cannot decrypt what the database holds."""


class ServiceError(GaIntelError):
    """A tenant's external service (BigQuery, SFTP, SMTP, PostgreSQL) failed."""

    def __init__(self, service: str, message: str, hint: str | None = None, transient: bool = False):
        self.service = service
        # True when trying again later may work (timeouts, refused connections); callers
        # retry those with backoff and fail at once on the rest (bad password, host key).
        self.transient = transient
        super().__init__(f"{service}: {message}", hint)
