"""The `bqemulator` BigQuery REST emulator (DuckDB-backed) as a child process.

At start the emulator runs `INSTALL spatial`, which downloads DuckDB's spatial
extension and stalls for minutes offline. We install the extension once from the
pinned `duckdb-extension-spatial` wheel, so its `INSTALL` finds it already there.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from ga_intel import ports
from ga_intel.devservices import stop_process
from ga_intel.errors import GaIntelError


def install_spatial_extension() -> None:
    """Put the wheel's spatial extension where DuckDB looks for it (idempotent)."""
    import duckdb
    import duckdb_extension_spatial

    files = list(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
    if not files:
        raise GaIntelError("duckdb-extension-spatial holds no extension file", hint="run `make setup`")
    con = duckdb.connect()
    try:
        installed = con.execute("SELECT installed FROM duckdb_extensions() WHERE extension_name = 'spatial'").fetchone()
        if not (installed and installed[0]):
            con.execute(f"INSTALL '{files[0]}'")
    finally:
        con.close()


class BigQueryEmulator:
    """`start()` / `stop()`; `.endpoint` is what a client's api_endpoint should be."""

    def __init__(
        self, project: str, data_dir: Path | None = None, port: int | None = None, log_file: Path | None = None
    ):
        self.project = project
        self.data_dir = data_dir
        self.port = port or ports.free_port()
        self.log_file = log_file
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            sys.executable,
            "-m",
            "bqemulator",
            "start",
            "--rest-port",
            str(self.port),
            "--grpc-port",
            str(ports.free_port()),
            "--project",
            self.project,
            "--log-level",
            "warning",
        ]
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            argv += ["--persistent", "--data-dir", str(self.data_dir)]
        return argv

    def start(self, timeout: float = 60) -> BigQueryEmulator:
        install_spatial_extension()
        argv = self.argv()
        if self.log_file:
            with open(self.log_file, "ab") as out:  # the child keeps its own copy of the descriptor
                self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        else:
            self.proc = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code, self.proc = self.proc.returncode, None
                raise GaIntelError(
                    f"the BigQuery emulator exited with code {code} at start",
                    hint=f"see {self.log_file}" if self.log_file else None,
                )
            try:
                with urllib.request.urlopen(f"{self.endpoint}/bigquery/v2/projects/{self.project}/datasets", timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise GaIntelError(f"the BigQuery emulator did not answer on {self.endpoint} within {timeout:.0f} s")

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    def __enter__(self) -> BigQueryEmulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
