"""The New tenant page in a real browser: a platform operator creates a tenant through the
setup steps of a served dashboard (`streamlit run`, headless Chromium) against the BigQuery
emulator, the sshd SFTP server and the SMTP server, and then sees its first day load.

The history load is the export sensor's catch-up: the test evaluates the real
`tenant_sync_sensor` and the export sensor (`ga4_export_sensor_<i>_of_<n>`) against a test Dagster instance (no daemon
runs here), checks that the new tenant's export day is requested as a catch-up run, and
executes that request in-process with `run_days` (what `ga-intel run` runs for a day: the
tenant × day assets), after loading the master data as `ga-intel run` does first. The
browser then reads the load on the page: the operator's "Export days loaded", and the new
tenant admin's Data page.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from ga_intel.ga4.ingest import local_today
from ga_intel.tenancy import store
from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.scenario import customer
from ga_intel_tests.servers.dashboard import SCREENSHOTS, streamlit_server

pytestmark = pytest.mark.browser

OPERATOR = "ops@platform.example"
ADMIN = "boss@newco.example"
TZ = "America/Chicago"
DATASET = "wizard_browser"
# Old enough to be history (a catch-up run, past GA4's restatement window), recent
# enough to be in the Data page's default dates (the last 30 days).
DAY = local_today(TZ) - dt.timedelta(days=10)


@pytest.fixture
def export_day(bigquery_emulator, tmp_path):
    """One day of a customer's visit and purchase in the emulator's `wizard_browser` dataset."""
    from ga_intel.connectors.bigquery import client
    from ga_intel.tenancy.tenant_file import BigQuerySettings

    export = Export(TZ)
    visit = export.visit(dt.datetime.combine(DAY, dt.time(9)), customer=customer("100001", "CHI", company="C1"))
    visit.page("/")
    visit.purchase("T-1", [("SKU-1", 2, 150.0)])
    bq = client(
        BigQuerySettings(project_id="test-project", dataset_id=DATASET, api_endpoint=bigquery_emulator.endpoint)
    )
    assert export.load(bq, f"test-project.{DATASET}", tmp_path / "export") == [DAY]
    return bigquery_emulator


@pytest.fixture
def dashboard(db, secret_key, tmp_path):
    (tmp_path / "streamlit").mkdir()
    env = {
        "GA_INTEL_DEV_LOGIN": "1",
        "GA_INTEL_DEV_USER": OPERATOR,
        "GA_INTEL_PLATFORM_OPERATORS": OPERATOR,
        "GA_INTEL_DAGSTER_URL": "http://dagster.test:3000",
    }
    with streamlit_server(tmp_path / "streamlit", env) as url:
        yield url


def _step(page, title: str):
    return page.get_by_test_id("stExpander").filter(has_text=title).first


def _fill(step, **values) -> None:
    for label, value in values.items():
        step.get_by_label(label, exact=True).fill(str(value))


def _test(page, step, expect: str) -> None:
    step.get_by_role("button", name="Test and continue").click()
    page.get_by_text(expect).first.wait_for(timeout=90_000)


def _catch_up_first_day(tenant_id: str) -> None:
    """The sensors' part, then the requested run in-process (see the module docstring)."""
    from ga_intel.ga4.automation import export_sensor
    from ga_intel.orchestration.run import load_master_data, run_days
    from ga_intel.orchestration.tenant_sync import tenant_sync_sensor

    with dg.instance_for_test() as instance:
        synced = tenant_sync_sensor(dg.build_sensor_context(instance=instance))
        [add] = synced.dynamic_partitions_requests
        assert list(add.partition_keys) == [tenant_id]
        instance.add_dynamic_partitions("tenant", list(add.partition_keys))
        # One shard over every tenant: the same code each shard of the deployment runs.
        requests = export_sensor(0, 1)(dg.build_sensor_context(instance=instance))
        assert not isinstance(requests, dg.SkipReason), requests
        [request] = requests
        assert request.partition_key.keys_by_dimension == {"tenant": tenant_id, "date": DAY.isoformat()}
        assert request.tags["ga_intel/catchup"] == "true"
        assert load_master_data(tenant_id, instance, echo=print)
        assert run_days(tenant_id, [DAY], instance, echo=print, trigger="export_sensor") == 0


def test_an_operator_creates_a_tenant_in_the_browser_and_sees_its_first_day_load(
    dashboard, export_day, drop, smtp_sink
):
    from playwright.sync_api import sync_playwright

    from ga_intel_tests.servers.dashboard import chromium_path

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sftp = drop.settings()
    secrets = (drop.password, smtp_sink.password)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 2400})
        page.set_default_timeout(60_000)
        page.goto(f"{dashboard}/new-tenant")
        page.get_by_role("heading", name="New tenant", exact=True).wait_for()

        step = _step(page, "1. Tenant")
        _fill(step, **{"Tenant id": "newco", "Name": "Newco Supply", "First admin's email": ADMIN})
        step.get_by_test_id("stSelectbox").click()
        page.keyboard.type(TZ)
        page.keyboard.press("Enter")
        _test(page, step, "OK — newco is free")

        step = _step(page, "2. BigQuery")
        _fill(
            step,
            **{
                "GCP project id": "test-project",
                "GA4 export dataset (analytics_<property id>)": DATASET,
                "API endpoint (only for an emulator)": export_day.endpoint,
            },
        )
        _test(page, step, f"OK — test-project.{DATASET}: 1 daily table(s)")
        assert DAY.isoformat() in _step(page, "2. BigQuery").inner_text()

        step = _step(page, "3. PostgreSQL")
        step.get_by_role("button", name="Skip: keep its data in the platform database").click()
        page.get_by_text("OK — skipped").wait_for()

        step = _step(page, "4. Master data")
        _fill(
            step,
            **{
                "Host": sftp["host"],
                "Port": sftp["port"],
                "User": sftp["username"],
                "Password": sftp["password"],
                "Server host key ('ssh-ed25519 AAAA…')": sftp["host_key"],
                "Remote folder": sftp["remote_path"],
            },
        )
        _test(page, step, "OK — connected to 127.0.0.1")
        found = _step(page, "4. Master data").inner_text()
        assert "2 customers" in found and "2 branches" in found, found

        step = _step(page, "5. SMTP")
        _fill(
            step,
            **{
                "Server": "127.0.0.1",
                "Port": smtp_sink.port,
                "User": smtp_sink.user,
                "Password": smtp_sink.password,
                "CA bundle on this host (optional)": str(smtp_sink.cert_file),
                "From name": "Newco Reports",
                "From address": "reports@newco.example",
            },
        )
        _test(page, step, f"test mail sent to {OPERATOR}")
        assert [m.rcpt_tos for m in smtp_sink.messages] == [[OPERATOR]]
        assert store.tenant_ids() == []  # nothing stored before Create
        html = page.content()
        assert all(secret not in html for secret in secrets)
        assert html.count("(kept, not shown)") >= 2
        page.screenshot(path=str(SCREENSHOTS / "new-tenant-steps.png"), full_page=True)

        page.get_by_role("button", name="Create tenant").click()
        page.get_by_text("created, its secrets stored encrypted").wait_for()
        assert store.get("newco").sftp.password.get_secret_value() == drop.password
        page.get_by_text("0 of 1").wait_for()
        assert (
            page.get_by_role("link", name="Its runs in the Dagster UI")
            .get_attribute("href")
            .startswith("http://dagster.test:3000/runs?")
        )

        _catch_up_first_day("newco")

        page.get_by_role("button", name="Refresh").click()
        page.get_by_text("1 of 1").wait_for()
        page.get_by_text("complete: 1").wait_for()
        page.screenshot(path=str(SCREENSHOTS / "new-tenant-created.png"), full_page=True)
        assert all(secret not in page.content() for secret in secrets)

        # The tenant's first admin (the dev login's sidebar field, in this same session:
        # a reload would sign in as the operator again) opens its Data page.
        login = page.get_by_test_id("stSidebar").get_by_test_id("stTextInput").locator("input")
        login.fill(ADMIN)
        login.press("Enter")
        page.get_by_text(f"Signed in as {ADMIN}").wait_for()
        page.get_by_test_id("stSidebarNav").get_by_text("Data", exact=True).click()
        page.get_by_role("heading", name="Data", exact=True).wait_for()
        complete = page.get_by_test_id("stMetric").filter(has_text="Complete")
        complete.get_by_test_id("stMetricValue").filter(has_text="1").wait_for()
        page.screenshot(path=str(SCREENSHOTS / "new-tenant-data.png"), full_page=True)
        browser.close()
