"""`ga-intel dev` (what `make dev` runs): the whole product on one machine.

It prepares the database (the embedded PostgreSQL unless GA_INTEL_DATABASE_URL is set),
the Dagster instance home and the demo tenant, then runs the Dagster webserver, the
Dagster daemon and Streamlit as children, each in its own process group with its output
in `$GA_INTEL_HOME/logs/`. Ctrl-C (or any child dying) stops every child's whole group,
then the embedded server if this command started it: no orphans.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from ga_intel import ports, settings
from ga_intel.errors import GaIntelError
from ga_intel.orchestration import instance

REPO = Path(__file__).resolve().parents[1]


def log_dir() -> Path:
    path = settings.home() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


# `make dev` runs every stand-in service on loopback, which tenant connections may not
# reach in production (connectors/targets.py): the dev launcher allows it explicitly.
DEV_NETWORKS = "127.0.0.0/8,::1/128"


def child_env() -> dict[str, str]:
    """The environment every child process shares."""
    env = dict(os.environ)
    env["GA_INTEL_HOME"] = str(settings.home())
    env.update(instance.storage_env())
    # Without compiled bytecode dagster and streamlit import in 14 s instead of 6 s.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@dataclass
class Child:
    name: str
    argv: list[str]
    url: str | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return log_dir() / f"{self.name}.log"

    def start(self, env: dict[str, str]) -> None:
        out = open(self.log, "ab")
        out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(self.argv)}\n".encode())
        out.flush()
        # A new session per child: Ctrl-C in the terminal reaches only us, and we stop
        # each child's whole process group (dagster-webserver forks a code server).
        self.proc = subprocess.Popen(
            self.argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
        out.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        if self.running():
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass


def _wait_http(url: str, child: Child, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.running():
            raise GaIntelError(f"{child.name} exited during start-up", hint=f"see {child.log} (or `make logs`)")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise GaIntelError(f"{child.name} did not answer on {url} within {timeout:.0f} s", hint=f"see {child.log}")


def service_children() -> list[Child]:
    """The demo tenant's stand-ins for BigQuery and SMTP (see ga_intel.demo)."""
    from ga_intel import demo

    demo.smtp_password()  # created 0600 before the sink reads it
    return [
        Child(
            "bigquery-emulator",
            [
                sys.executable,
                "-m",
                "bqemulator",
                "start",
                "--rest-port",
                str(demo.BIGQUERY_PORT),
                "--grpc-port",
                "0",
                "--project",
                demo.DEMO_PROJECT,
                "--persistent",
                "--data-dir",
                str(demo.demo_dir() / "bigquery"),
                "--log-level",
                "warning",
            ],
            url=f"http://127.0.0.1:{demo.BIGQUERY_PORT}/bigquery/v2/projects/{demo.DEMO_PROJECT}/datasets",
        ),
        Child(
            "smtp-sink",
            [
                sys.executable,
                "-m",
                "ga_intel.devservices.smtp_server",
                "--dir",
                str(demo.smtp_dir()),
                "--port",
                str(demo.SMTP_PORT),
                "--user",
                demo.SMTP_USER,
                "--password-file",
                str(demo.demo_dir() / "smtp-password"),
            ],
        ),
    ]


def children(dagster_port: int, streamlit_port: int, api_port: int = 8000) -> list[Child]:
    bin_dir = Path(sys.executable).parent
    return [
        Child(
            "dagster-webserver",
            [
                str(bin_dir / "dagster-webserver"),
                "-w",
                str(REPO / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(dagster_port),
            ],
            url=f"http://127.0.0.1:{dagster_port}",
        ),
        Child("dagster-daemon", [str(bin_dir / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")]),
        Child(
            "streamlit",
            [
                str(bin_dir / "streamlit"),
                "run",
                str(REPO / "streamlit_app" / "app.py"),
                "--server.headless",
                "true",
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(streamlit_port),
                "--browser.gatherUsageStats",
                "false",
                # .streamlit/config.toml gives users the viewer toolbar; a developer keeps theirs.
                "--client.toolbarMode",
                "developer",
            ],
            url=f"http://127.0.0.1:{streamlit_port}",
        ),
        # The API also delivers webhooks (its lifespan runs the dispatcher loop).
        Child(
            "api",
            [
                str(bin_dir / "uvicorn"),
                "--factory",
                "ga_intel.api.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--log-level",
                "warning",
            ],
            url=f"http://127.0.0.1:{api_port}/health",
        ),
    ]


def _start_seeding(env: dict[str, str], echo, stopped, dashboard_url: str | None = None):
    """Load the demo tenant's data in the background while the UIs are up."""
    import threading

    # In-process runs land in the same Dagster instance the UI shows.
    for key in ("DAGSTER_HOME", "GA_INTEL_DAGSTER_STORAGE_URL"):
        os.environ[key] = env[key]

    def work():
        from ga_intel.demo.seed import seed

        try:
            seed(echo, stopped, dashboard_url)
        except Exception as exc:  # the UIs stay up; say what went wrong
            echo(f"demo data: {getattr(exc, 'message', None) or f'{type(exc).__name__}: {exc}'}")

    thread = threading.Thread(target=work, name="demo-seed", daemon=True)
    thread.start()
    return thread


def stop_all(kids: list[Child], grace: float = 15.0) -> None:
    for kid in kids:
        kid.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for kid in kids:
        if kid.proc is None:
            continue
        try:
            kid.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # The group can outlive its leader (a code server the webserver forked): kill it all.
        try:
            os.killpg(kid.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        kid.proc.wait()


def run(dagster_port: int = 3000, streamlit_port: int = 8501, echo=print, api_port: int = 8000) -> int:
    from ga_intel import demo
    from ga_intel.db import embedded, migrate
    from ga_intel.db.engine import dispose_all

    # Before anything connects: the in-process seeding and every child inherit it.
    os.environ.setdefault("GA_INTEL_ALLOWED_NETWORKS", DEV_NETWORKS)
    for name, port in (
        ("Dagster UI", dagster_port),
        ("Streamlit", streamlit_port),
        ("API", api_port),
        ("BigQuery emulator", demo.BIGQUERY_PORT),
        ("SMTP sink", demo.SMTP_PORT),
    ):
        if not ports.is_free(port):
            raise GaIntelError(
                f"port {port} for the {name} is already in use",
                hint="stop what holds it, or choose others: make dev DAGSTER_PORT=3001 STREAMLIT_PORT=8502 API_PORT=8001",
            )
    urls = settings.database_urls()
    started_db = False
    if urls.embedded and not embedded.is_running():
        echo("starting the embedded PostgreSQL ...")
        embedded.start()
        started_db = True
    kids: list[Child] = []
    stopping = False
    seeder = None

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        echo("applying migrations ...")
        revision = migrate.upgrade()
        echo(
            f"  platform database {settings.database_urls().platform.render_as_string(hide_password=True)} at {revision}"
        )
        from ga_intel.demo import ensure_demo_tenant

        echo(ensure_demo_tenant())
        dispose_all()
        env = child_env()
        env.setdefault("GA_INTEL_DEV_LOGIN", "1")
        env.setdefault("GA_INTEL_DEV_USER", "admin@demo.example")
        from ga_intel import demo

        env.setdefault("GA_INTEL_DAGSTER_URL", f"http://127.0.0.1:{dagster_port}")  # the API's run links
        env["GA_INTEL_SMTP_SINK_DIR"] = str(demo.smtp_dir())  # the Email page lists what the sink received
        from ga_intel.devservices.bigquery_emulator import install_spatial_extension

        install_spatial_extension()
        kids = service_children() + children(dagster_port, streamlit_port, api_port)
        for kid in kids:
            kid.start(env)
        echo("starting the BigQuery emulator, SMTP sink, Dagster (webserver + daemon), Streamlit and the API ...")
        for kid in kids:
            if kid.url and not stopping:
                _wait_http(kid.url, kid, timeout=120)
        if not stopping:
            echo("")
            echo(f"  Dagster UI   http://127.0.0.1:{dagster_port}")
            echo(f"  Dashboard    http://127.0.0.1:{streamlit_port}   (dev login as admin@demo.example)")
            echo(
                f"  API          http://127.0.0.1:{api_port}   (docs: http://127.0.0.1:{api_port}/docs; "
                "`ga-intel token create --tenant demo --name me --scope tasks:read`)"
            )
            echo(f"  BigQuery     http://127.0.0.1:{demo.BIGQUERY_PORT} (emulator, demo tenant)")
            echo(f"  SMTP sink    127.0.0.1:{demo.SMTP_PORT} (STARTTLS + AUTH; mail in {demo.smtp_dir() / 'messages'})")
            echo(f"  Logs         {log_dir()}  (make logs)")
            echo("")
            echo("Ctrl-C stops everything.")
            echo("")
        if not stopping:
            seeder = _start_seeding(env, echo, lambda: stopping, f"http://127.0.0.1:{streamlit_port}")
        while not stopping:
            dead = [k for k in kids if not k.running()]
            if dead:
                echo(f"{dead[0].name} exited with code {dead[0].proc.returncode}; stopping (see {dead[0].log})")
                return 1
            time.sleep(0.5)
        return 0
    finally:
        echo("stopping ...")
        if seeder is not None and seeder.is_alive():
            seeder.join(timeout=120)  # it stops between days; never mid-transaction
        stop_all(kids)
        dispose_all()
        if started_db:
            embedded.stop()
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGTERM, old_term)
        echo("stopped.")
