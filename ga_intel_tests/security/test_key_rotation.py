"""Key rotation under a file lock, writing the key the secrets are encrypted with.

`ga-intel keys rotate` (key-file mode) writes a new key in front of the old ones,
re-encrypts every secret, then leaves the file holding only the new key. Two rotations
at once interleaved those writes: each loaded whatever the file held at that moment, and
each finally wrote the key it had generated, so the database could end up encrypted under
a key that no file holds any more, and every tenant's secrets lost. Rotations now hold a
lock on the key file from start to end, and finish by writing the keyring's own primary
key. Three real `ga-intel keys rotate` processes, held at the database's key-check row
until all three are inside their rotation (or queued at the file lock)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from ga_intel import crypto
from ga_intel.db import engine
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SMTP_PASSWORD, tenant_data

ROTATIONS = 3
WAIT_SECONDS = 300  # generous: three processes import ga-intel on a busy machine


def _db_waiters() -> int:
    with engine().connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        ).scalar()


def _flock_waiters(pids: set[int]) -> int:
    """Processes of `pids` blocked on a flock (the kernel's /proc/locks '->' lines)."""
    blocked = 0
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[1] == "->" and fields[2] == "FLOCK" and int(fields[5]) in pids:
            blocked += 1
    return blocked


def test_concurrent_rotations_leave_one_key_that_decrypts_everything(db, monkeypatch, ga_intel_home):
    monkeypatch.delenv("GA_INTEL_SECRET_KEY")
    crypto.key_file().unlink(missing_ok=True)
    crypto.reset_keyring()
    for tenant_id in ("acme", "beta"):
        store.add(tenant_file.validate(tenant_data(tenant_id), "test"))
    env = {k: v for k, v in os.environ.items() if k != "GA_INTEL_SECRET_KEY"}
    exe = Path(sys.executable).with_name("ga-intel")

    # The attack (a careless operator, or cron and a person): rotations at the same time.
    holder = engine().connect()
    holder.execute(sa.text("SELECT token FROM control.key_check FOR UPDATE"))
    procs = [
        subprocess.Popen(
            [str(exe), "keys", "rotate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(ROTATIONS)
    ]
    try:
        pids = {p.pid for p in procs}
        deadline = time.monotonic() + WAIT_SECONDS
        while _db_waiters() + _flock_waiters(pids) < ROTATIONS:
            finished = [p for p in procs if p.poll() is not None]
            assert not finished, finished[0].stdout.read()
            assert time.monotonic() < deadline, "the rotations never all started"
            time.sleep(0.2)
        assert _db_waiters() == 1  # one rotation inside; the others queued at the key file's lock
    finally:
        holder.rollback()
        holder.close()
    outputs = [p.communicate()[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs

    keys, _ = crypto.load_keys(create=False)
    assert len(keys) == 1  # the old keys retired
    assert all(k.decode() not in "".join(outputs) for k in keys)
    crypto.reset_keyring()
    for tenant_id in ("acme", "beta"):  # every secret decrypts with the one key the file holds
        assert store.get(tenant_id).smtp.password.get_secret_value() == SMTP_PASSWORD
    store.add(tenant_file.validate(tenant_data("gamma"), "test"))  # the key check accepts it too
    crypto.key_file().unlink()
    crypto.reset_keyring()
