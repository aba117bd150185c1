"""SFTP sessions to a tenant's master-data drop, with the host key pinned.

Only the tenant's configured host key is trusted (never the system known_hosts, never
AutoAddPolicy): an unknown or changed key is refused. File names are confined to
`remote_path`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import posixpath
import stat as stat_mod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import paramiko

from ga_intel.connectors import CheckResult, master_files_result, targets
from ga_intel.errors import ServiceError
from ga_intel.tenancy.tenant_file import SftpSettings

# paramiko logs transport failures with a traceback; with no logging configured, Python's
# last-resort handler would print it under our clear ServiceError (e.g. in `tenant check`).
logging.getLogger("paramiko").addHandler(logging.NullHandler())

KEY_HINT = "set private_key_passphrase to the key's passphrase, or store the key unencrypted"


@dataclass(frozen=True)
class FileInfo:
    name: str
    size: int
    mtime: float


def confined(root: str, name: str) -> str:
    """`root/name` for a plain file name; anything that could leave `root` is refused."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
        raise ServiceError("sftp", f"refusing file name {name!r}: only plain names inside remote_path are read")
    return posixpath.join(root, name)


def _private_key(settings: SftpSettings) -> paramiko.PKey:
    text = settings.private_key.get_secret_value()
    passphrase = settings.private_key_passphrase.get_secret_value() if settings.private_key_passphrase else None
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase)
        except paramiko.PasswordRequiredException:
            raise ServiceError(
                "sftp", "the private key is encrypted and no private_key_passphrase is set", hint=KEY_HINT
            ) from None
        except (paramiko.SSHException, ValueError, TypeError):
            # Each class refuses another type's key; the last refusal is not the interesting one.
            continue
    raise ServiceError(
        "sftp",
        "private_key could not be read as an Ed25519, ECDSA or RSA key (or the passphrase is wrong)",
        hint="paste the whole private key (OpenSSH or PEM), and check private_key_passphrase",
    )


def _host_entry(settings: SftpSettings) -> str:
    return settings.host if settings.port == 22 else f"[{settings.host}]:{settings.port}"


class SftpSession:
    """Reads files under the tenant's remote_path."""

    def __init__(self, sftp: paramiko.SFTPClient, root: str):
        self._sftp = sftp
        self.root = root
        self.where = "sftp"

    def listdir(self) -> list[str]:
        try:
            return sorted(self._sftp.listdir(self.root))
        except PermissionError:
            raise ServiceError(
                "sftp", f"permission denied listing {self.root}", hint="the SFTP user needs read access to remote_path"
            ) from None

    def stat(self, name: str) -> FileInfo:
        try:
            st = self._sftp.stat(confined(self.root, name))
        except FileNotFoundError:
            raise ServiceError(
                "sftp",
                f"{name} not found in {self.root}",
                hint="ask the tenant to upload it, or fix user_file/locations_file",
            ) from None
        if stat_mod.S_ISDIR(st.st_mode or 0):
            raise ServiceError("sftp", f"{posixpath.join(self.root, name)} is a folder, not a file")
        return FileInfo(name, st.st_size or 0, float(st.st_mtime or 0))

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The file's bytes; at most `max_bytes` of them."""
        path = confined(self.root, name)
        try:
            with self._sftp.open(path, "rb") as fh:
                fh.prefetch()
                return fh.read(max_bytes) if max_bytes is not None else fh.read()
        except FileNotFoundError:
            raise ServiceError(
                "sftp",
                f"{name} not found in {self.root}",
                hint="ask the tenant to upload it, or fix user_file/locations_file",
            ) from None
        except PermissionError:
            raise ServiceError(
                "sftp", f"permission denied reading {path}", hint="the SFTP user needs read access to the file"
            ) from None


@contextmanager
def open_session(settings: SftpSettings) -> Iterator[SftpSession]:
    where = f"{settings.username}@{settings.host}:{settings.port}"
    target = targets.check_host("sftp", settings.host, settings.port)
    client = paramiko.SSHClient()
    key_type, key_b64 = settings.host_key.split()[:2]
    # Knowing a key for the host also makes paramiko negotiate that key type.
    client.get_host_keys().add(
        _host_entry(settings), key_type, paramiko.PKey.from_type_string(key_type, base64.b64decode(key_b64))
    )
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    kwargs = dict(
        hostname=settings.host,
        port=settings.port,
        username=settings.username,
        timeout=settings.timeout_seconds,
        banner_timeout=settings.timeout_seconds,
        auth_timeout=settings.timeout_seconds,
        channel_timeout=settings.timeout_seconds,
        look_for_keys=False,
        allow_agent=False,
    )
    if settings.private_key is not None:
        kwargs["pkey"] = _private_key(settings)
    if settings.password is not None:
        kwargs["password"] = settings.password.get_secret_value()
    try:
        # The checked address, never a second lookup of the name; the name still picks the host key.
        kwargs["sock"] = targets.connect(target, settings.timeout_seconds)
        client.connect(**kwargs)
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise ServiceError(
            "sftp",
            f"{where} presented a different host key ({exc.key.get_name()} "
            f"SHA256:{_fingerprint(exc.key)}) than the configured one ({exc.expected_key.get_name()} "
            f"SHA256:{_fingerprint(exc.expected_key)})",
            hint="if the server's key really changed, confirm it with its owner and update sftp.host_key",
        ) from None
    except paramiko.SSHException as exc:
        client.close()
        msg = str(exc)
        if "not found in known_hosts" in msg or "Server" in msg and "not found" in msg:
            offered = _offered_key(settings, target)
            raise ServiceError(
                "sftp",
                f"{where} presented a host key that is not the configured one{offered}",
                hint="confirm the key with the server's owner and set sftp.host_key to it",
            ) from None
        if isinstance(exc, paramiko.AuthenticationException):
            raise ServiceError(
                "sftp", f"authentication failed for {where}", hint="check sftp.username and the password or private key"
            ) from None
        if "protocol banner" in msg or msg == "No existing session":
            # paramiko's words for "no SSH greeting" and "handshake not finished in time".
            within = f" within {settings.timeout_seconds:g} s" if msg == "No existing session" else ""
            raise ServiceError(
                "sftp",
                f"{where} did not answer as an SSH server{within}",
                hint="check host and port (SFTP is usually port 22)",
            ) from None
        raise ServiceError("sftp", f"SSH error with {where}: {msg}", transient=True) from None
    except TimeoutError:
        client.close()
        raise ServiceError(
            "sftp",
            f"timed out connecting to {where} after {settings.timeout_seconds:g} s",
            hint="check host, port and firewall",
            transient=True,
        ) from None
    except OSError as exc:
        client.close()
        raise ServiceError(
            "sftp", f"cannot connect to {where}: {exc.strerror or exc}", hint="check host and port", transient=True
        ) from None
    try:
        try:
            sftp = client.open_sftp()
        except (paramiko.SSHException, OSError) as exc:
            raise ServiceError(
                "sftp",
                f"{where} accepted the login but not an SFTP session: {exc}",
                hint="the account must be allowed the sftp subsystem",
            ) from None
        sftp.get_channel().settimeout(settings.timeout_seconds)
        try:
            st = sftp.stat(settings.remote_path)
        except FileNotFoundError:
            raise ServiceError(
                "sftp",
                f"remote_path {settings.remote_path} does not exist on {settings.host}",
                hint="fix sftp.remote_path",
            ) from None
        except PermissionError:
            raise ServiceError(
                "sftp",
                f"permission denied on remote_path {settings.remote_path}",
                hint="the SFTP user needs access to remote_path",
            ) from None
        if not stat_mod.S_ISDIR(st.st_mode or 0):
            raise ServiceError("sftp", f"remote_path {settings.remote_path} is not a folder")
        yield SftpSession(sftp, settings.remote_path)
    finally:
        client.close()


def _fingerprint(key: paramiko.PKey) -> str:
    return base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")


def _offered_key(settings: SftpSettings, target: targets.Target) -> str:
    """The key the server offers (for the error message), fetched without authenticating."""
    try:
        with targets.connect(target, settings.timeout_seconds) as sock:
            transport = paramiko.Transport(sock)
            try:
                key_type = settings.host_key.split()[0]
                transport.get_security_options().key_types = [key_type] + [
                    k for k in transport.get_security_options().key_types if k != key_type
                ]
                transport.start_client(timeout=settings.timeout_seconds)
                key = transport.get_remote_server_key()
                return f" (it offered {key.get_name()} SHA256:{_fingerprint(key)})"
            finally:
                transport.close()
    except Exception:
        return ""


def check(settings: SftpSettings) -> CheckResult:
    try:
        with open_session(settings) as session:
            names = set(session.listdir())
    except ServiceError as exc:
        return CheckResult("sftp", False, str(exc))
    except (paramiko.SSHException, OSError, EOFError) as exc:
        # A connection dropped mid-session; the messages carry no credentials.
        return CheckResult(
            "sftp", False, f"sftp: connection to {settings.host}:{settings.port} failed: {type(exc).__name__}: {exc}"
        )
    where = f"{settings.host}:{settings.remote_path}"
    return master_files_result("sftp", settings, names, f"connected to {where}", f"connected to {where}; ")
