"""The dashboard served by a real `streamlit run`, and Debian's Chromium to look at it.

Shared by the browser tests (test_browser.py, test_oidc_login.py). Chromium is the system
one, through Playwright's `executable_path`: never `playwright install` (`.ci/run`
installs Debian's chromium).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from ga_intel import ports
from ga_intel.devservices import stop_process

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "streamlit_app" / "app.py"
SCREENSHOTS = REPO / "artifacts" / "screenshots"  # kept by CI; README names it
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@contextmanager
def streamlit_server(
    workdir: Path, env: Mapping[str, str] | None = None, *, secrets_toml: str = "", port: int | None = None
) -> Iterator[str]:
    """`streamlit run streamlit_app/app.py` on 127.0.0.1; yields its base URL once healthy.

    The process inherits this process's environment (the test database and ga-intel home)
    plus `env`. Its only secrets file is `workdir/secrets.toml`, holding `secrets_toml`
    (empty: no `[auth]`, so no OIDC), so a developer's own `.streamlit/secrets.toml`
    never leaks in. Its output goes to `workdir/streamlit.log`, which a failure to start quotes.
    """
    port = port or ports.free_port()
    secrets_file = workdir / "secrets.toml"
    secrets_file.write_text(secrets_toml)
    log = workdir / "streamlit.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(APP),
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
                "--secrets.files",
                str(secrets_file),
            ],
            env={**os.environ, **(env or {})},
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        stop_process(proc)


def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: install Debian's chromium (`apt-get install chromium`; .ci/run does)")
    return CHROMIUM
