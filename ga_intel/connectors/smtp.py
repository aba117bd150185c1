"""SMTP connections for a tenant's reports: TLS required unless explicitly disabled."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from ga_intel.connectors import CheckResult, targets
from ga_intel.errors import ServiceError
from ga_intel.tenancy.tenant_file import SmtpSettings


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=settings.tls_ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ServiceError("smtp", f"cannot load tls_ca_file {settings.tls_ca_file}: {exc}") from None


def _handshake(conn: smtplib.SMTP, settings: SmtpSettings, context: ssl.SSLContext | None) -> None:
    where = f"{settings.server}:{settings.port}"
    conn.ehlo()
    if settings.use_tls and not settings.use_ssl:
        if not conn.has_extn("starttls"):
            raise ServiceError(
                "smtp",
                f"{where} does not offer STARTTLS; refusing to send in clear text",
                hint="use a server with TLS, use_ssl for port 465, or (for a trusted local relay only) use_tls: false",
            )
        conn.starttls(context=context)
        conn.ehlo()
    if settings.user_name:
        conn.login(settings.user_name, settings.password.get_secret_value() if settings.password else "")


class _Pinned:
    """Connects to the address `targets` checked, while TLS still verifies the name."""

    def __init__(self, target: targets.Target, **kwargs):
        self._address = target.address
        super().__init__(target.host, target.port, **kwargs)

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(self._address, port, timeout)


class _PinnedSMTP(_Pinned, smtplib.SMTP):
    pass


class _PinnedSMTP_SSL(_Pinned, smtplib.SMTP_SSL):
    pass


def _open(settings: SmtpSettings) -> smtplib.SMTP:
    target = targets.check_host("smtp", settings.server, settings.port, field="server")
    context = _tls_context(settings) if (settings.use_tls or settings.use_ssl) else None
    conn: smtplib.SMTP | None = None
    try:
        if settings.use_ssl:
            conn = _PinnedSMTP_SSL(target, timeout=settings.timeout_seconds, context=context)
        else:
            conn = _PinnedSMTP(target, timeout=settings.timeout_seconds)
        _handshake(conn, settings, context)
        return conn
    except BaseException:
        # A refused login or TLS failure would otherwise leave the socket to the GC.
        if conn is not None:
            conn.close()
        raise


def open_connection(settings: SmtpSettings) -> smtplib.SMTP:
    where = f"{settings.server}:{settings.port}"
    try:
        return _open(settings)
    except smtplib.SMTPAuthenticationError as exc:
        raise ServiceError(
            "smtp",
            f"{where} rejected the login of {settings.user_name!r} ({exc.smtp_code} {_text(exc.smtp_error)})",
            hint="check smtp.user_name and smtp.password",
        ) from None
    except ssl.SSLCertVerificationError as exc:
        raise ServiceError(
            "smtp",
            f"TLS certificate of {where} not trusted: {exc.verify_message}",
            hint="fix the server's certificate, or point tls_ca_file at the CA that signed it",
        ) from None
    except ssl.SSLError as exc:
        raise ServiceError(
            "smtp",
            f"TLS with {where} failed: {exc.reason or exc}",
            hint="check use_tls / use_ssl against the port (587: STARTTLS, 465: use_ssl)",
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise ServiceError(
            "smtp",
            f"{where} does not support AUTH: {exc}",
            hint="remove user_name for a relay without AUTH, or enable AUTH on the server",
        ) from None
    except smtplib.SMTPServerDisconnected as exc:
        raise ServiceError("smtp", f"{where} closed the connection: {exc}", transient=True) from None
    except smtplib.SMTPResponseException as exc:
        raise ServiceError(
            "smtp", f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}", transient=400 <= exc.smtp_code < 500
        ) from None
    except smtplib.SMTPException as exc:
        raise ServiceError("smtp", f"{where}: {type(exc).__name__}: {_text(getattr(exc, 'smtp_error', exc))}") from None
    except TimeoutError:
        raise ServiceError(
            "smtp",
            f"timed out talking to {where} after {settings.timeout_seconds:g} s",
            hint="check server, port and firewall",
            transient=True,
        ) from None
    except OSError as exc:
        raise ServiceError(
            "smtp", f"cannot connect to {where}: {exc.strerror or exc}", hint="check server and port", transient=True
        ) from None


def _text(value) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


@contextmanager
def connect(settings: SmtpSettings) -> Iterator[smtplib.SMTP]:
    """A connected, TLS-protected and logged-in SMTP session."""
    conn = open_connection(settings)
    try:
        yield conn
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()


def check(settings: SmtpSettings) -> CheckResult:
    try:
        with connect(settings) as conn:
            code, _ = conn.noop()
    except ServiceError as exc:
        return CheckResult("smtp", False, str(exc))
    security = "implicit TLS" if settings.use_ssl else "STARTTLS" if settings.use_tls else "NO TLS"
    auth = f", logged in as {settings.user_name}" if settings.user_name else ""
    return CheckResult("smtp", code == 250, f"{settings.server}:{settings.port} ({security}{auth}) answers")
