"""An SMTP sink with STARTTLS and AUTH (aiosmtpd), for the tests and the demo.

It behaves like a strict submission server: STARTTLS is required before anything else,
AUTH PLAIN/LOGIN only over TLS, one configured user. Every accepted message is kept in
memory and written as an .eml file, so tests can assert on exactly what was sent and the
dashboard can show what the demo "sent". Addresses in `reject` get a 550 at RCPT, to
exercise partial refusals.

    python -m ga_intel.devservices.smtp_server --dir D --port P --user U --password P
    python -m ga_intel.devservices.smtp_server --dir D --port P --user U --password-file F

Prefer --password-file outside throwaway tests: an argv password shows in `ps`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import ipaddress
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def message(self):
        import email
        from email import policy

        return email.message_from_bytes(self.data, policy=policy.default)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1/localhost (kept if already there)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    if cert_file.exists() and key_file.exists():
        return cert_file, key_file
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file


@dataclass
class SmtpSink:
    folder: Path
    user: str
    password: str
    port: int = 0
    reject: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    # Called with each accepted message before the client hears "250" (tests use it to
    # crash a sender at the worst moment).
    on_message: Callable[[Received], None] | None = None

    def __post_init__(self):
        self.folder = Path(self.folder)
        self.cert_file, self.key_file = make_certificate(self.folder)
        self._lock = threading.Lock()
        self._controller = None

    def _handler(self):
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                # Read at each RCPT, so a test can change the refusals of a running sink.
                if address.lower() in {r.lower() for r in sink.reject}:
                    return "550 5.1.1 mailbox unavailable"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                received = Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
                with sink._lock:
                    sink.messages.append(received)
                    inbox = sink.folder / "messages"
                    inbox.mkdir(exist_ok=True)
                    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
                    (inbox / f"{stamp}-{len(sink.messages):05d}.eml").write_bytes(received.data)
                if sink.on_message is not None:
                    sink.on_message(received)
                return "250 Message accepted"

        return Handler()

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        ok = (
            isinstance(auth_data, LoginPassword)
            and hmac.compare_digest(auth_data.login, self.user.encode())
            and hmac.compare_digest(auth_data.password, self.password.encode())
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        if not self.port:
            from ga_intel import ports

            self.port = ports.free_port()
        self._controller = Controller(
            self._handler(),
            hostname="127.0.0.1",
            port=self.port,
            server_hostname="localhost",
            tls_context=context,
            require_starttls=True,
            auth_require_tls=True,
            authenticator=self._authenticator,
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def clear(self) -> None:
        """Forget every message received so far, in memory and on disk (tests start empty)."""
        with self._lock:
            self.messages.clear()
            for eml in (self.folder / "messages").glob("*.eml"):
                eml.unlink()
        self.on_message = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--user", required=True)
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument("--password", help="the AUTH password (visible in `ps`: for throwaway use)")
    secret.add_argument("--password-file", type=Path, help="file holding the AUTH password")
    parser.add_argument(
        "--reject",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="answer 550 at RCPT for this address (repeatable)",
    )
    args = parser.parse_args()
    password = args.password if args.password is not None else args.password_file.read_text().strip()
    sink = SmtpSink(args.dir, args.user, password, port=args.port, reject=set(args.reject)).start()
    print(
        f"SMTP sink on 127.0.0.1:{sink.port} (STARTTLS, AUTH as {args.user}); messages in {args.dir / 'messages'}",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
