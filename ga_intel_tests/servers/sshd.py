"""A real OpenSSH sshd for SFTP tests: own config, own host key, own test user.

It runs as root (password authentication needs it) with PAM off, so the test user's
password is checked against /etc/shadow, and only the SFTP subsystem is offered.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from ga_intel import ports
from ga_intel.devservices import stop_process

SSHD = "/usr/sbin/sshd"
USER = "gaintel_sftp"
# Machine-wide, like the user: where the user's password is kept between sessions.
STATE = Path("/var/lib/ga-intel-tests")


def ensure_user() -> str:
    """Create the test login user if missing; return its password.

    The user is shared by every test session on the machine, and sessions do run at the
    same time (a full suite next to one module). A fresh password per session would lock
    out the other sessions' logins, so the password is drawn once and kept, root-only."""
    STATE.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(STATE / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = STATE / "sftp-password"
        if not stored.exists():
            stored.touch(mode=0o600)
            stored.write_text("pw-" + secrets.token_urlsafe(12))
        password = stored.read_text().strip()
        if subprocess.run(["id", USER], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--create-home", "--shell", "/bin/sh", USER], check=True)
        # Setting the same value again is harmless to a session already logged in.
        subprocess.run(["chpasswd"], input=f"{USER}:{password}\n", text=True, check=True)
    return password


class Sshd:
    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.port = ports.free_port()
        self.username = USER
        self.password = ""  # set at start()
        self.root = self.workdir / "drop"  # where tests put the files the server serves
        self.proc: subprocess.Popen | None = None

    def _keygen(self, path: Path, comment: str) -> None:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)], check=True)

    def start(self) -> Sshd:
        if not os.path.exists(SSHD):
            raise RuntimeError(
                "OpenSSH sshd not found: install it with `apt-get install openssh-server` (.ci/run does)"
            )
        if os.geteuid() != 0:
            raise RuntimeError("the sshd fixture runs sshd as root (password authentication needs it)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workdir.chmod(0o755)
        self.root.mkdir(exist_ok=True)
        self.root.chmod(0o755)
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege-separation dir
        self.password = ensure_user()
        host_key = self.workdir / "ssh_host_ed25519_key"
        client_key = self.workdir / "client_ed25519"
        if not host_key.exists():
            self._keygen(host_key, "ga-intel test host")
            self._keygen(client_key, "ga-intel test client")
        keys_dir = self.workdir / "authorized_keys"
        keys_dir.mkdir(exist_ok=True)
        shutil.copy(client_key.with_suffix(".pub"), keys_dir / USER)
        config = self.workdir / "sshd_config"
        config.write_text(f"""\
Port {self.port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {self.workdir / "sshd.pid"}
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile {keys_dir}/%u
StrictModes no
PermitRootLogin no
AllowUsers {USER}
Subsystem sftp internal-sftp
ForceCommand internal-sftp
AllowTcpForwarding no
X11Forwarding no
LogLevel VERBOSE
""")
        check = subprocess.run([SSHD, "-t", "-f", str(config)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"sshd rejected its test config: {check.stderr}")
        self.log = self.workdir / "sshd.log"
        with open(self.log, "wb") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(64).startswith(b"SSH-"):
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sshd did not answer on port {self.port}: {self.log.read_text()[-2000:]}")

    @property
    def host_key_line(self) -> str:
        """The server's public key as the tenant file's sftp.host_key takes it."""
        return " ".join((self.workdir / "ssh_host_ed25519_key.pub").read_text().split()[:2])

    @property
    def client_private_key(self) -> str:
        return (self.workdir / "client_ed25519").read_text()

    def authorize(self, public_key_line: str) -> None:
        """Also accept this client key ("ssh-ed25519 AAAA... comment") for the test user."""
        with open(self.workdir / "authorized_keys" / USER, "a") as fh:
            fh.write(public_key_line.strip() + "\n")

    def put(self, name: str, data: bytes) -> Path:
        path = self.root / name
        path.write_bytes(data)
        path.chmod(0o644)
        return path

    def clear(self) -> None:
        for p in self.root.iterdir():
            if p.is_file():
                p.unlink()

    def settings(self, **overrides) -> dict:
        """An `sftp` section for a tenant file, with password auth by default."""
        values = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "host_key": self.host_key_line,
            "remote_path": str(self.root),
            "timeout_seconds": 10,
        }
        values.update(overrides)
        return {k: v for k, v in values.items() if v is not None}

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
