"""One real-browser smoke test: the dashboard served by `streamlit run`, in headless
Chromium (Debian's, via Playwright's executable_path; never `playwright install`).
Screenshots go to artifacts/screenshots/ (kept by CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ga_intel import ports
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SMTP_PASSWORD, tenant_data

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.browser



@pytest.fixture
def dashboard(db, secret_key, tmp_path):
    store.add(tenant_file.validate(tenant_data("acme", folder=str(tmp_path)), "test"))
    port = ports.free_port()
    env = dict(os.environ, GA_INTEL_DEV_LOGIN="1", GA_INTEL_DEV_USER="admin@acme.example")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "streamlit_app" / "app.py"), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(10)


def test_settings_page_in_a_real_browser(dashboard):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium not found: install Debian's chromium (`apt-get install chromium`; .ci/run does)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(dashboard)
        page.get_by_role("heading", name="Settings").wait_for(timeout=60_000)
        page.get_by_text("Dev login is on").wait_for()
        page.get_by_text("SMTP (email reports)").wait_for()
        html = page.content()
        page.screenshot(path=str(SCREENSHOTS / "settings.png"), full_page=True)
        browser.close()
    assert "acme-ga" in html
    assert SMTP_PASSWORD not in html
