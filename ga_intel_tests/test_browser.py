"""One real-browser smoke test: the dashboard served by `streamlit run`, in headless
Chromium (Debian's, via Playwright's executable_path; never `playwright install`).
Screenshots go to artifacts/screenshots/ (kept by CI)."""

from __future__ import annotations

import pytest

from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import SMTP_PASSWORD, tenant_data
from ga_intel_tests.servers.dashboard import SCREENSHOTS, chromium_path, streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture
def dashboard(db, secret_key, tmp_path):
    store.add(tenant_file.validate(tenant_data("acme", folder=str(tmp_path)), "test"))
    (tmp_path / "streamlit").mkdir()
    env = {"GA_INTEL_DEV_LOGIN": "1", "GA_INTEL_DEV_USER": "admin@acme.example"}
    with streamlit_server(tmp_path / "streamlit", env) as url:
        yield url


def test_settings_page_in_a_real_browser(dashboard):
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{dashboard}/settings")  # Overview is the default page
        page.get_by_role("heading", name="Settings").wait_for(timeout=60_000)
        page.get_by_text("Dev login is on").wait_for()
        page.get_by_text("SMTP (email reports)").wait_for()
        html = page.content()
        page.screenshot(path=str(SCREENSHOTS / "settings.png"), full_page=True)
        browser.close()
    assert "acme-ga" in html
    assert SMTP_PASSWORD not in html


def _some_ga4_data() -> None:
    """A few days of GA4 rows for acme, so the screenshots show charts and tables."""
    import datetime as dt

    from ga_intel_tests.test_streamlit_pages import END, insert, purchase, search, session

    days = [END - dt.timedelta(days=i) for i in range(7)]
    for i, day in enumerate(days):
        insert("acme", "sessions", [session(day, f"u{j}", 100 * i + j, purchase=j < 2) for j in range(5 + i)])
        insert("acme", "purchases", [purchase(day, f"T{i}-{j}", 40 + 15 * j + i) for j in range(2)])
        insert("acme", "searches", [search(day, "drill", view=True, cart=i % 2 == 0), search(day, "hammer", no_results=True),
                                    search(day, "saw")])
        insert("acme", "data_availability", [dict(
            event_date=day, source_table=f"events_{day:%Y%m%d}", status="complete" if i else "provisional",
            bq_row_count=5000, rows_written='{"sessions": 5}', run_id=f"run-{i}")])


@pytest.mark.parametrize("path, heading, marker", [
    ("", "Overview", "Conversion rate"),  # the default page is served at the root
    ("search", "Search", "No-click terms"),
    ("data", "Data", "Load status by day"),
])
def test_each_page_in_a_real_browser(dashboard, path, heading, marker):
    from playwright.sync_api import sync_playwright

    _some_ga4_data()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{dashboard}/{path}")
        page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=60_000)
        page.get_by_text("Dev login is on").wait_for()
        page.get_by_text(marker).first.wait_for(timeout=30_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Download CSV").first.wait_for()
        page.wait_for_timeout(1000)  # let the charts finish drawing
        html = page.content()
        page.screenshot(path=str(SCREENSHOTS / f"{path or 'overview'}.png"), full_page=True)
        browser.close()
    assert "Traceback" not in html and "Page not found" not in html
