"""One real-browser smoke test: the dashboard served by `streamlit run`, in headless
Chromium (Debian's, via Playwright's executable_path; never `playwright install`), visiting
every page by its own URL as the tenant admin, checking that no KPI is cut off, no chart axis,
legend or table header shows a column name, and the "Deploy" toolbar is hidden.
Screenshots go to artifacts/screenshots/<page>.png (kept by CI)."""

from __future__ import annotations

import re

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


def _some_data() -> None:
    """Two weeks of stored figures, search terms and tasks for acme's three branches, and a
    customer's activity, so every screenshot shows charts and tables."""
    import datetime as dt

    from ga_intel_tests.helpers.pages import END, figures, insert, purchase, search, session, task, term

    insert(
        "acme",
        "locations",
        [
            dict(warehouse_code=c, warehouse_id=str(i), warehouse_name=n, city=n, source_row=i + 2)
            for i, (c, n) in enumerate([("CHI", "Chicago"), ("MKE", "Milwaukee"), ("IND", "Indianapolis")])
        ],
    )
    insert(
        "acme",
        "users",
        [
            dict(
                user_id="u1",
                first_name="Ava",
                last_name="Chen",
                company_id="C1",
                company_name="Chen Plumbing",
                branch_code="CHI",
                office_phone="+1 312 555 0101",
                source_row=2,
            )
        ],
    )
    for i in range(14):
        day = END - dt.timedelta(days=i)
        per_branch = {"CHI": 40 + i, "MKE": 25 + i % 5, "IND": 12 + i % 3}
        # Millions over the range: the KPI tiles must still fit ("$7.65M", not "7,654,3…").
        rows = [
            figures(
                day,
                code,
                revenue=(900 + 37 * i * (k + 1)) * 150,
                transactions=6 + k,
                purchasers=5,
                sessions=n,
                active_users=n - 3,
                converting_sessions=5 + k,
                carts_created=10 + i % 4,
                carts_abandoned=4 + (i + k) % 5,
                recovered_revenue=60 * (i % 3),
                searches=30 + k,
                no_click_searches=8 + i % 4,
                no_result_searches=3,
            )
            for k, (code, n) in enumerate(per_branch.items())
        ]
        insert("acme", "location_daily_metrics", rows)
        insert(
            "acme",
            "daily_metrics",
            [figures(day, **{f: sum(r[f] for r in rows) for f in rows[0] if f not in ("event_date", "branch_code")})],
        )
        insert(
            "acme",
            "search_terms_daily",
            [
                term(day, "CHI", "ball valve", searches=12, sessions=10, users=9, cart=4, bought=2),
                term(day, "MKE", "copper pipe", searches=8, sessions=7, users=7, no_click=3, cart=1),
                term(day, "IND", "pex crimp", no_result=3, sessions=3, users=3),
            ],
        )
        insert(
            "acme",
            "data_availability",
            [
                dict(
                    event_date=day,
                    source_table=f"events_{day:%Y%m%d}",
                    status="complete" if i else "provisional",
                    bq_row_count=5000,
                    rows_written='{"sessions": 5}',
                    run_id=f"run-{i}",
                )
            ],
        )
        if i < 6:
            insert(
                "acme",
                "tasks",
                [
                    task(
                        f"cart:user:u1:{day}",
                        "cart_recovery",
                        "CHI",
                        "admin@acme.example",
                        value=250 + 10 * i,
                        day=day,
                        customer="u1",
                        status="open" if i < 4 else "recovered",
                        recovered=None if i < 4 else 120,
                        title=f"Recover Ava Chen's cart ({250 + 10 * i:.2f}, 2 items)",
                        context={
                            "items": [
                                {"item_id": "SKU-1", "item_name": "Ball Valve", "quantity": 2, "price": 100},
                                {
                                    "item_id": f"SKU-{i + 2}",
                                    "item_name": "Copper Pipe",
                                    "quantity": 1,
                                    "price": 50 + 10 * i,
                                },
                            ]
                        },
                    ),
                    task(
                        f"purchase:T{i}",
                        "purchase_followup",
                        "MKE",
                        None,
                        value=400 + i,
                        day=day,
                        customer="u1",
                        priority=1,
                        title=f"Thank Ava Chen for order T{i}",
                    ),
                ],
            )
            insert("acme", "sessions", [session(day, "d-u1", 100 + i, purchase=i % 2 == 0, customer="u1")])
            insert("acme", "searches", [search(day, "ball valve", user="d-u1", sid=100 + i, view=True, customer="u1")])
            insert("acme", "purchases", [purchase(day, f"T{i}", 400 + i, customer="u1")])


# path, heading, a text the page shows once its data is in, whether it draws charts
PAGES = [
    ("overview", "Overview", "Conversion rate", True),
    ("carts", "Cart abandonment", "Top abandoned products", True),
    ("search", "Search", "No-click terms", True),
    ("locations", "Locations", "Branch comparison", True),
    ("tasks", "Tasks", "Customer activity", True),
    ("email", "Email reports", None, False),
    ("data", "Data", "Load status by day", True),
    ("settings", "Settings", "SMTP (email reports)", False),
]


SNAKE = re.compile(r"\b[a-z][a-z0-9]*_[a-z0-9_]+\b")

# Texts a user reads as labels: KPI tiles, chart axes and legends, table headers.
_LABEL_TEXTS = """() => {
  const out = [];
  for (const el of document.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stMetricLabel"]')) {
    const inner = el.querySelector('div, p, span') || el;
    for (const node of [el, inner]) {
      out.push({kind: "kpi", text: node.innerText,
                cut: node.scrollWidth > node.clientWidth + 1 || node.innerText.includes("\u2026")});
    }
  }
  for (const el of document.querySelectorAll('.js-plotly-plot .xtitle, .js-plotly-plot .ytitle, '
                                             + '.js-plotly-plot .legendtext, .js-plotly-plot .legendtitletext')) {
    out.push({kind: "chart", text: el.textContent, cut: false});
  }
  for (const el of document.querySelectorAll('[data-testid="stDataFrame"] [role="columnheader"]')) {
    out.push({kind: "header", text: el.textContent, cut: false});
  }
  return out;
}"""


def _cut_off_or_raw(page, seen: dict[str, int]) -> list[str]:
    """KPI values or labels cut off ("2,898,7…"), and column names (snake_case) where words belong."""
    problems = []
    for item in page.evaluate(_LABEL_TEXTS):
        seen[item["kind"]] = seen.get(item["kind"], 0) + 1
        text = (item["text"] or "").strip()
        if item["cut"]:
            problems.append(f"{item['kind']} cut off: {text!r}")
        if SNAKE.search(text):
            problems.append(f"{item['kind']} shows a column name: {text!r}")
    return problems


def test_the_root_forwards_to_the_overview_with_the_query_string(dashboard):
    """Streamlit serves its default page at "/" only; "/" forwards to /overview, keeping
    ?tenant= and ?branch= (what an old bookmark or a bare link brings)."""
    from playwright.sync_api import sync_playwright

    _some_data()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.goto(f"{dashboard}/?tenant=acme&branch=MKE")
        page.get_by_role("heading", name="Overview", exact=True).wait_for(timeout=60_000)
        page.get_by_text("Branch filter:").wait_for(timeout=30_000)
        page.wait_for_url("**/overview?*", timeout=30_000)
        assert "branch=MKE" in page.url and "tenant=acme" in page.url
        assert "Milwaukee (MKE)" in page.content()
        browser.close()


def test_every_page_in_a_real_browser(dashboard):
    """Each page of the dashboard as the tenant admin, one screenshot per page."""
    from playwright.sync_api import sync_playwright

    _some_data()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems = []
    seen: dict[str, int] = {}  # labels checked, by kind: the check must have found something to check
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        # Tall: Streamlit scrolls inside its own container, so a "full page" shot is the viewport.
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        for path, heading, marker, charts in PAGES:
            page.goto(f"{dashboard}/{path}")  # each page by its own URL (deep link)
            page.get_by_role("heading", name=heading, exact=True).wait_for(timeout=60_000)
            page.get_by_text("Dev login is on").wait_for()
            if marker:
                page.get_by_text(marker).first.wait_for(timeout=30_000)
            if charts:
                page.locator(".js-plotly-plot").first.wait_for(timeout=90_000)
                page.get_by_role("button", name="Download CSV").first.wait_for()
                page.wait_for_timeout(700)  # let the charts finish drawing
            html = page.content()
            page.screenshot(path=str(SCREENSHOTS / f"{path}.png"), full_page=True)
            for bad in ("Traceback", "Page not found", SMTP_PASSWORD):
                if bad in html:
                    problems.append(f"{path}: {bad[:12]}")
            problems += [f"{path}: {p}" for p in _cut_off_or_raw(page, seen)]
            if page.get_by_role("button", name="Deploy").count():
                problems.append(f"{path}: the Deploy toolbar shows (client.toolbarMode should be viewer)")
            if path == "settings" and "acme-ga" not in html:
                problems.append("settings: the tenant's BigQuery project is not shown")
        browser.close()
    assert not problems, problems
    assert seen.get("kpi", 0) > 20 and seen.get("chart", 0) > 10 and seen.get("header", 0) > 10, seen
