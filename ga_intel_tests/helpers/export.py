"""GA4 export rows for scenario tests, written the way a shop's visitors produce them.

A test describes visits in the property's local time; every event becomes a full
export-shaped row (ga_intel.demo.generator's row builder: INT64 as strings, every field
present) in the daily file of its own local day, so a visit that runs past midnight lands
in two daily tables, exactly as GA4 exports it. The quirks of real exports are explicit
calls: `cookieless()` visits, `duplicate_last()`, re-fired purchases on later days,
refunds, items without a price, amounts in another currency, the newer export columns.

    export = Export()
    v = export.visit(at(D1, 9), customer=AVA)
    v.page("/"); v.add_to_cart([("SKU-1", 2, 150.0)]); v.purchase("T1", [("SKU-1", 2, 150.0)])
    export.load(client, "project.dataset")      # into the BigQuery emulator
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

from ga_intel.demo import generator
from ga_intel.ga4 import load

HOST = "https://shop.example"
_devices = itertools.count(1)


def _local(ts: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return ts.astimezone(tz) if ts.tzinfo else ts.replace(tzinfo=tz)


class Export:
    def __init__(self, timezone: str = "America/Chicago", modern: bool = False, stream_id: str = "1234567890"):
        """`modern`: rows carry the columns GA4 added since 2023 (is_active_user,
        collected_traffic_source, session_traffic_source_last_click)."""
        self.tz = ZoneInfo(timezone)
        self.modern = modern
        self.stream_id = stream_id
        self.rows: dict[dt.date, list[dict]] = defaultdict(list)

    def visit(
        self,
        start: dt.datetime,
        *,
        customer: dict | None = None,
        device: str | None = None,
        session_id: int | None | type(...) = ...,
        engaged: bool = True,
        source: tuple[str, str] | None = None,
        last_click: tuple[str, str] | None = None,
        first_touch: tuple[str, str] = ("google", "cpc"),
        session_number: int = 2,
        active: bool | None = None,
    ) -> Visit:
        """A session starting at `start` (local time, or aware). `customer`: {'user_id',
        'company_id', 'branch'} sets the shop's user properties. `device` defaults to one
        per customer (or a fresh one); `session_id` to the start in Unix seconds, as gtag sets it
        (None: the events carry no ga_session_id at all)."""
        start = _local(start, self.tz)
        if device is None:
            device = f"dev-{customer['user_id']}" if customer else f"anon-{next(_devices)}"
        sid = int(start.timestamp()) if session_id is ... else session_id
        return Visit(
            self, start, customer, device, sid, engaged, source, last_click, first_touch, session_number, active
        )

    def cookieless(self, start: dt.datetime, *, customer: dict | None = None) -> Visit:
        """Consent-mode pings: no user_pseudo_id and no ga_session_id."""
        return Visit(
            self, _local(start, self.tz), customer, None, None, False, None, None, ("(direct)", "(none)"), 1, None
        )

    def add(self, local_time: dt.datetime, row: dict) -> dict:
        day = local_time.date()
        row["event_date"] = day.strftime("%Y%m%d")
        self.rows[day].append(row)
        return row

    def duplicate_last(self, day: dt.date) -> None:
        """GA4 exported the day's last event twice (an exact duplicate row)."""
        self.rows[day].append(json.loads(json.dumps(self.rows[day][-1])))

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for day, rows in sorted(self.rows.items()):
            path = folder / f"events_{day:%Y%m%d}.ndjson"
            path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in rows))
            paths.append(path)
        return paths

    def load(self, client, dataset: str, folder: Path) -> list[dt.date]:
        """Write the daily files and load each into `<dataset>.events_<day>` (replacing)."""
        client.create_dataset(dataset, exists_ok=True)
        for path in self.write(folder):
            load.load_day(client, dataset, path.stem.removeprefix("events_"), path)
        return sorted(self.rows)


def _ecommerce(**values) -> dict:
    keys = (
        "total_item_quantity",
        "purchase_revenue_in_usd",
        "purchase_revenue",
        "refund_value_in_usd",
        "refund_value",
        "shipping_value_in_usd",
        "shipping_value",
        "tax_value_in_usd",
        "tax_value",
        "unique_items",
        "transaction_id",
    )
    out = {k: None for k in keys}
    out.update(values)
    return out


class Visit:
    def __init__(
        self,
        export: Export,
        start,
        customer,
        device,
        session_id,
        engaged,
        source,
        last_click,
        first_touch,
        session_number,
        active,
    ):
        self.export, self.t, self.customer, self.device, self.session_id = export, start, customer, device, session_id
        self.engaged, self.source, self.last_click, self.first_touch = engaged, source, last_click, first_touch
        self.session_number, self.active = session_number, active
        self.first = True

    def at(self, when: dt.datetime) -> Visit:
        self.t = _local(when, self.export.tz)
        return self

    def event(
        self,
        name: str,
        params: list | None = None,
        *,
        minutes: float = 1,
        items=None,
        ecommerce=None,
        page: str | None = None,
    ) -> dict:
        """One event `minutes` after the previous one."""
        if not self.first:
            self.t += dt.timedelta(minutes=minutes)
        ts = int(self.t.timestamp() * 1_000_000)
        p = generator._param
        params = list(params or [])
        if page:
            params.append(p("page_location", f"{HOST}{page}"))
        if self.first and self.source:
            params += [p("source", self.source[0]), p("medium", self.source[1])]
        if self.engaged:
            params.append(p("session_engaged", "1"))
        if self.session_id is not None:
            params.append(p("ga_session_number", self.session_number))
        user = None
        if self.customer:
            user = {
                "user_id": self.customer["user_id"],
                "company_id": self.customer.get("company_id", ""),
                "branch": self.customer.get("branch", ""),
            }
        row = generator._event(
            self.t.date(),
            ts,
            name,
            self.device,
            self.session_id or 0,
            params,
            user,
            self.first_touch,
            "desktop",
            items=items,
            ecommerce=ecommerce,
        )
        row["stream_id"] = self.export.stream_id
        if self.session_id is None:  # cookieless or session-less: no ga_session_id parameter at all
            row["event_params"] = [x for x in row["event_params"] if x["key"] != "ga_session_id"]
        if self.export.modern:
            row["is_active_user"] = self.active if self.active is not None else self.engaged
            row["collected_traffic_source"] = (
                {"manual_source": self.source[0], "manual_medium": self.source[1]}
                if self.first and self.source
                else None
            )
            row["session_traffic_source_last_click"] = (
                {"manual_campaign": {"source": self.last_click[0], "medium": self.last_click[1]}}
                if self.last_click
                else None
            )
        self.first = False
        return self.export.add(self.t, row)

    def page(self, path: str = "/", minutes: float = 1, title: str = "Shop") -> dict:
        return self.event("page_view", [generator._param("page_title", title)], minutes=minutes, page=path)

    def first_visit(self) -> dict:
        return self.event("first_visit", minutes=0)

    def search(self, term: str | None, minutes: float = 1, url: str | None = None, no_results: bool = False) -> dict:
        params = [generator._param("search_term", term)] if term is not None else []
        row = self.event(
            "view_search_results", params, minutes=minutes, page=url or f"/search?q={(term or '').replace(' ', '+')}"
        )
        if no_results:
            self.event("no_search_results", [generator._param("no_search_results_term", term)], minutes=0)
        return row

    def view_item(self, sku: str, price: float | None = 10.0, minutes: float = 1) -> dict:
        return self.event("view_item", minutes=minutes, page=f"/p/{sku}", items=[_item(sku, None, price)])

    def add_to_cart(
        self, items: list[tuple], value: float | None = None, currency: str = "USD", minutes: float = 1
    ) -> dict:
        """items: (sku, quantity or None, price or None)."""
        p = generator._param
        params = [p("currency", currency)]
        if value is not None:
            params.append(p("value", float(value)))
        return self.event("add_to_cart", params, minutes=minutes, items=[_item(*i) for i in items])

    def purchase(
        self,
        txn: str | None,
        items: list[tuple],
        revenue: float | None = None,
        currency: str = "USD",
        revenue_in_usd: float | None = None,
        minutes: float = 1,
    ) -> dict:
        if revenue is None:
            revenue = round(sum((price or 0) * (qty or 1) for _, qty, price in items), 2)
        usd = revenue if currency == "USD" and revenue_in_usd is None else revenue_in_usd
        p = generator._param
        params = [p("currency", currency), p("value", float(revenue))]
        if txn:
            params.append(p("transaction_id", txn))
        ecommerce = _ecommerce(
            transaction_id=txn,
            purchase_revenue=revenue,
            purchase_revenue_in_usd=usd,
            total_item_quantity=str(sum(q or 1 for _, q, _ in items)),
            unique_items=str(len(items)),
        )
        return self.event(
            "purchase",
            params,
            minutes=minutes,
            items=[_item(*i, revenue=True) for i in items],
            ecommerce=ecommerce,
            page="/checkout/complete",
        )

    def refund(self, txn: str, value: float, currency: str = "USD", minutes: float = 1) -> dict:
        p = generator._param
        ecommerce = _ecommerce(
            transaction_id=txn, refund_value=value, refund_value_in_usd=value if currency == "USD" else None
        )
        return self.event(
            "refund", [p("currency", currency), p("value", float(value))], minutes=minutes, ecommerce=ecommerce
        )


def _item(sku: str, quantity: int | None, price: float | None, revenue: bool = False) -> dict:
    row = generator._item(
        {"item_id": sku, "item_name": f"Item {sku}", "item_brand": "Acme", "item_category": "Valves", "price": price},
        quantity,
        revenue=False,
    )
    row["price"] = price
    row["price_in_usd"] = price
    if revenue and price is not None:
        row["item_revenue"] = row["item_revenue_in_usd"] = round(price * (quantity or 1), 2)
    return row
