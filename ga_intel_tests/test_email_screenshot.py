"""The branch email as a recipient's mail client would draw it, in headless Chromium: the
branch figures, then each rep's capped list of today's tasks. The screenshot goes to
artifacts/screenshots/email-branch-CHI.png (kept by CI), next to the dashboard's."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from ga_intel.cli import main
from ga_intel_tests.helpers.shop import D1
from ga_intel_tests.servers.dashboard import SCREENSHOTS, chromium_path

pytestmark = pytest.mark.browser


def test_branch_email_in_a_real_browser(shop, smtp_sink, tmp_path):
    from playwright.sync_api import sync_playwright

    out = tmp_path / "chi.html"
    result = CliRunner().invoke(
        main, ["email", "preview", "--tenant", "shop", "--branch", "CHI", "--date", D1.isoformat(), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 800, "height": 1400})
        page.goto(out.as_uri())
        page.get_by_text("Chen Plumbing").first.wait_for(timeout=30_000)
        body = page.inner_text("body")
        page.screenshot(path=str(SCREENSHOTS / "email-branch-CHI.png"), full_page=True)
        browser.close()
    assert "Traceback" not in body
    assert "Kara" in body  # the branch rep's own list, under the branch figures
