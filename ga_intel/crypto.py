"""Encryption of tenant secrets at rest (Fernet, through MultiFernet for rotation).

Keys come from `GA_INTEL_SECRET_KEY` (comma-separated, newest first) or, when that is
unset, from `$GA_INTEL_HOME/secret.key` (one key per line, newest first), created with
mode 0600 on first use. The first key encrypts; every key decrypts.

Rotation without downtime for readers: `ga-intel keys rotate` first publishes the new key
in front of the old ones, then re-encrypts every token, all under `key_file_lock`, so two
rotations (or a rotation and a first use) never interleave their writes of the file. A reader that meets a token it
cannot decrypt reloads the key file once before giving up, so a process started before
the rotation keeps working.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ga_intel import settings
from ga_intel.errors import SecretKeyError
from ga_intel.logs import remember_secret, remember_values

ENV_VAR = "GA_INTEL_SECRET_KEY"
_CANARY = "ga-intel key check v1"


def key_file() -> Path:
    return settings.home() / "secret.key"


def _parse(raw: str, source: str) -> list[bytes]:
    keys = [k.strip().encode() for k in raw.replace(",", "\n").splitlines() if k.strip()]
    if not keys:
        raise SecretKeyError(f"{source} holds no key", hint="generate one with `ga-intel keys generate`")
    for i, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:
            raise SecretKeyError(
                f"key #{i} in {source} is not a Fernet key (32 url-safe base64-encoded bytes)",
                hint="generate one with `ga-intel keys generate`",
            ) from None
    return keys


def load_keys(create: bool = True) -> tuple[list[bytes], str]:
    """The key list and where it came from (for messages; never the key itself)."""
    raw = os.environ.get(ENV_VAR)
    if raw:
        return _parse(raw, ENV_VAR), ENV_VAR
    path = key_file()
    if not path.exists():
        if not create:
            raise SecretKeyError(f"no key: {ENV_VAR} is unset and {path} does not exist")
        with key_file_lock():
            if not path.exists():  # two first uses at once must not each write a key
                write_key_file([Fernet.generate_key()])
    return _parse(path.read_text(), str(path)), str(path)


@contextmanager
def key_file_lock() -> Iterator[None]:
    """An exclusive lock on the key file (a `flock` on `secret.key.lock` beside it), held
    by whoever changes it: a rotation from start to end, or the first use creating it. A
    second rotation waits, then rotates from the keys the first left. Released by the
    kernel if the process dies. Not reentrant: take it once per change."""
    lock_path = key_file().with_name(key_file().name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def write_key_file(keys: list[bytes]) -> None:
    """Atomically replace the key file, created 0600 from the first byte."""
    path = key_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("".join(k.decode() + "\n" for k in keys))
    os.replace(tmp, path)


class Keyring:
    """Encrypts and decrypts JSON-able secrets; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        keys, self.source = load_keys()
        self.primary = keys[0]  # the key `encrypt` and `rotate` use
        self._fernet = MultiFernet([Fernet(k) for k in keys])
        remember_secret(*(k.decode() for k in keys))

    def encrypt(self, value: dict) -> str:
        remember_values(value)  # never in a log line from now on
        return self._fernet.encrypt(json.dumps(value, sort_keys=True).encode()).decode()

    def decrypt(self, token: str, what: str = "a secret") -> dict:
        try:
            return remember_values(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken:
            pass
        with self._lock:  # the key file may have been rotated under us
            self._load()
        try:
            return remember_values(json.loads(self._fernet.decrypt(token.encode())))
        except InvalidToken:
            raise SecretKeyError(
                f"cannot decrypt {what} with the key from {self.source}",
                hint=f"use the key this database was encrypted with ({ENV_VAR} or {key_file()}); "
                "nothing was decrypted or changed",
            ) from None

    def rotate(self, token: str) -> str:
        return self._fernet.rotate(token.encode()).decode()

    def canary(self) -> str:
        return self.encrypt({"check": _CANARY})

    def check_canary(self, token: str) -> None:
        if self.decrypt(token, "the database's key check").get("check") != _CANARY:
            raise SecretKeyError("key check token has unexpected content")


_keyring: Keyring | None = None


def keyring() -> Keyring:
    global _keyring
    if _keyring is None:
        _keyring = Keyring()
    return _keyring


def reset_keyring() -> None:
    """Forget the cached keys (after a rotation, or in tests that change the key)."""
    global _keyring
    _keyring = None
