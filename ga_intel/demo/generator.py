"""Seeded synthetic GA4 export data for a B2B shop: the demo tenant, tests and benchmarks.

Rows have the exact NDJSON shape of a GA4 BigQuery export (INT64 as strings, repeated
records as arrays). The shop's logged-in customers come from `ga_intel.demo.population`,
so their `webuserid` / `webcustomerid` / `default_branch_id` user properties join the
demo master data. Also generated: anonymous visitors, consent-denied hits (no
user_pseudo_id), searches with and without results, carts, purchases (some duplicated,
some with a '(not set)' transaction id) and customers who come back day after day.

The same (seed, day, events) always gives the same rows; volume scales from a few
hundred to millions of events a day.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import zlib
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from ga_intel.demo.population import population

HOST = "https://shop.demo.example"
CATEGORIES = {
    "Pipe & Fittings": [
        "Copper Elbow 1/2in",
        "PEX Tee 3/4in",
        "PVC Coupling 2in",
        "Brass Union 1in",
        "Galvanized Nipple 3/4in",
    ],
    "Valves": ["Ball Valve 1in", "Check Valve 3/4in", "Gate Valve 2in", "Pressure Relief Valve", "Mixing Valve"],
    "Water Heaters": ["Tank Heater 50gal", "Tankless Heater 199k BTU", "Heat Pump Heater 65gal", "Expansion Tank 2gal"],
    "HVAC": ["Condenser 3 Ton", "Air Handler 2.5 Ton", "Smart Thermostat", "Flex Duct 6in", "Furnace Filter 16x25"],
    "Tools": ["Pipe Cutter", "Crimp Tool PEX", "Torch Kit", "Press Tool Jaw Set", "Drain Auger 25ft"],
    "Fixtures": ["Kitchen Faucet Pull-Down", "Toilet Elongated", "Shower Valve Trim", "Lavatory Faucet"],
}
# The head of the search vocabulary: what most visitors type. The tail (search_vocabulary)
# adds thousands of rarer terms, some misspelt, so the Search page shows a long tail.
SEARCH_TERMS = [
    "ball valve",
    "pex crimp",
    "tankless",
    "copper elbow",
    "thermostat",
    "expansion tank",
    "press fitting",
    "water heater 50",
    "flex duct",
    "drain auger",
    "shower trim",
    "sharkbite 1/2",
]
NO_RESULT_TERMS = ["viega propress 4in", "grundfos alpha2 15-55", "taco 007e", "rheem rtgh-95dv", "zurn wilkins 975"]
_SIZES = ["1/4", "3/8", "1/2", "3/4", "1", "1 1/4", "1 1/2", "2", "3", "4"]
_MATERIALS = ["copper", "pex", "pvc", "cpvc", "brass", "galvanized", "black iron", "stainless", "abs"]
_PARTS = [
    "elbow",
    "tee",
    "coupling",
    "union",
    "nipple",
    "adapter",
    "cap",
    "reducer",
    "valve",
    "ball valve",
    "check valve",
    "gate valve",
    "fitting",
    "flange",
    "hose bib",
    "strap",
    "hanger",
    "clamp",
]
_BRANDS = [
    "sharkbite",
    "viega",
    "uponor",
    "nibco",
    "mueller",
    "watts",
    "zurn",
    "moen",
    "delta",
    "rheem",
    "navien",
    "honeywell",
    "ridgid",
    "milwaukee",
    "oatey",
    "taco",
    "grundfos",
]
# Day-of-week and month rhythm of a trade supplier: weekdays busy, summer HVAC and winter heating.
WEEKDAY_SHARE = [1.0, 1.05, 1.05, 1.0, 0.9, 0.45, 0.3]
MONTH_SHARE = [1.1, 1.05, 1.0, 0.95, 1.0, 1.1, 1.15, 1.1, 1.0, 0.95, 1.0, 0.85]
SEASONAL_CATEGORY = {
    "HVAC": [0.7, 0.7, 0.8, 1.0, 1.3, 1.6, 1.8, 1.6, 1.2, 0.9, 0.8, 0.7],
    "Water Heaters": [1.5, 1.4, 1.2, 1.0, 0.8, 0.7, 0.7, 0.7, 0.9, 1.1, 1.3, 1.5],
}


def day_volume(day: dt.date, events: int) -> int:
    """`events` scaled by the weekday and the month: a demo week has quiet weekends."""
    return max(1, round(events * WEEKDAY_SHARE[day.weekday()] * MONTH_SHARE[day.month - 1]))


def _misspell(term: str, rng: random.Random) -> str:
    i = rng.randrange(max(1, len(term) - 1))
    kind = rng.random()
    if kind < 0.4 and len(term) > 3:  # two letters swapped
        return term[:i] + term[i + 1] + term[i] + term[i + 2 :]
    if kind < 0.7:  # a letter dropped
        return term[:i] + term[i + 1 :]
    return term[:i] + term[i] + term[i:]  # a letter doubled


@functools.lru_cache(maxsize=4)
def search_vocabulary(seed: int = 7) -> tuple[list[str], list[float]]:
    """Terms and cumulative weights: a Zipf-like long tail. The head terms come first, then
    thousands of size/material/part and brand/part combinations, a tenth of them misspelt."""
    rng = random.Random(seed * 97)
    tail = {f"{size} {material} {part}" for size in _SIZES for material in _MATERIALS for part in _PARTS}
    tail |= {f"{brand} {part}" for brand in _BRANDS for part in _PARTS}
    tail |= {name.lower() for names in CATEGORIES.values() for name in names}
    tail = sorted(tail - set(SEARCH_TERMS))
    rng.shuffle(tail)
    misspelt = {_misspell(t, rng) for t in rng.sample(SEARCH_TERMS + tail, len(tail) // 10)}
    tail += sorted(misspelt - set(tail) - set(SEARCH_TERMS))
    terms = list(SEARCH_TERMS) + tail
    cumulative, total = [], 0.0
    for rank in range(1, len(terms) + 1):
        total += 1.0 / rank**1.05
        cumulative.append(total)
    return terms, cumulative


SOURCES = [
    ("google", "organic"),
    ("(direct)", "(none)"),
    ("google", "cpc"),
    ("newsletter", "email"),
    ("bing", "organic"),
]


def catalog(seed: int = 7) -> list[dict]:
    rng = random.Random(seed * 31)
    items = []
    for category, names in CATEGORIES.items():
        for name in names:
            items.append(
                {
                    "item_id": f"SKU-{len(items) + 1001}",
                    "item_name": name,
                    "item_category": category,
                    "item_brand": rng.choice(["Acme", "ProFlow", "Everline", "Northwind"]),
                    "price": round(
                        rng.uniform(4, 1800) if category in ("Water Heaters", "HVAC") else rng.uniform(2, 180), 2
                    ),
                }
            )
    return items


def _param(key: str, value) -> dict:
    v = {"string_value": None, "int_value": None, "float_value": None, "double_value": None}
    if isinstance(value, bool):
        v["int_value"] = str(int(value))
    elif isinstance(value, int):
        v["int_value"] = str(value)
    elif isinstance(value, float):
        v["double_value"] = value
    else:
        v["string_value"] = value
    return {"key": key, "value": v}


def _user_prop(key: str, value: str, ts: int) -> dict:
    return {
        "key": key,
        "value": {
            "string_value": value,
            "int_value": None,
            "float_value": None,
            "double_value": None,
            "set_timestamp_micros": str(ts),
        },
    }


def _item(product: dict, quantity: int | None = None, revenue: bool = False) -> dict:
    row = {
        k: None
        for k in (
            "item_variant",
            "item_category2",
            "item_category3",
            "item_category4",
            "item_category5",
            "price_in_usd",
            "item_revenue_in_usd",
            "item_refund_in_usd",
            "item_refund",
            "coupon",
            "affiliation",
            "location_id",
            "item_list_id",
            "item_list_name",
            "item_list_index",
            "promotion_id",
            "promotion_name",
            "creative_name",
            "creative_slot",
        )
    }
    row.update(
        item_id=product["item_id"],
        item_name=product["item_name"],
        item_brand=product["item_brand"],
        item_category=product["item_category"],
        price=product["price"],
        quantity=str(quantity) if quantity is not None else None,
        item_revenue=round(product["price"] * (quantity or 1), 2) if revenue else None,
    )
    return row


def _event(
    day: dt.date,
    ts: int,
    name: str,
    pseudo_id: str | None,
    session_id: int,
    params: list[dict],
    user: dict | None,
    traffic: tuple[str, str],
    device: str,
    *,
    items=None,
    ecommerce=None,
) -> dict:
    return {
        "event_date": day.strftime("%Y%m%d"),
        "event_timestamp": str(ts),
        "event_name": name,
        "event_params": [_param("ga_session_id", session_id), *params],
        "event_previous_timestamp": None,
        "event_value_in_usd": None,
        "event_bundle_sequence_id": str(ts // 1000 % 10**10),
        "event_server_timestamp_offset": None,
        "user_id": user["user_id"] if user else None,
        "user_pseudo_id": pseudo_id,
        "privacy_info": {
            "analytics_storage": None if pseudo_id else "No",
            "ads_storage": None,
            "uses_transient_token": "No",
        },
        "user_properties": [
            _user_prop("webuserid", user["user_id"], ts),
            _user_prop("webcustomerid", user["company_id"], ts),
            _user_prop("default_branch_id", user["branch"], ts),
        ]
        if user
        else [],
        "user_first_touch_timestamp": str(ts - 86_400_000_000 * 30),
        "user_ltv": {"revenue": 0.0, "currency": "USD"},
        "device": {
            "category": device,
            "mobile_brand_name": None,
            "mobile_model_name": None,
            "mobile_marketing_name": None,
            "mobile_os_hardware_model": None,
            "operating_system": "Web",
            "operating_system_version": None,
            "vendor_id": None,
            "advertising_id": None,
            "language": "en-us",
            "is_limited_ad_tracking": "No",
            "time_zone_offset_seconds": None,
            "browser": None,
            "browser_version": None,
            "web_info": {"browser": "Chrome", "browser_version": "120.0", "hostname": "shop.demo.example"},
        },
        "geo": {
            "continent": "Americas",
            "country": "United States",
            "region": "Illinois",
            "city": "Chicago",
            "sub_continent": "Northern America",
            "metro": "(not set)",
        },
        "app_info": None,
        "traffic_source": {"name": "(organic)", "medium": traffic[1], "source": traffic[0]},
        "stream_id": "1234567890",
        "platform": "WEB",
        "event_dimensions": None,
        "ecommerce": ecommerce
        or {
            k: None
            for k in (
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
        },
        "items": items or [],
    }


def generate_day(day: dt.date, events: int = 2000, seed: int = 7, timezone: str = "America/Chicago") -> Iterator[dict]:
    """About `events` GA4 events for `day` (the property's local date), in time order per session."""
    rng = random.Random(f"{seed}:{day.isoformat()}")
    people = population(seed)
    products = catalog(seed)
    customers = [{"user_id": c.user_id, "company_id": c.company_id, "branch": c.branch} for c in people.customers]
    vocabulary, weights = search_vocabulary(seed)
    # Each customer has a trade (a favourite category, stable per customer); the season moves
    # everyone a little towards HVAC in summer and water heaters in winter.
    categories = sorted(CATEGORIES)
    by_category = {c: [p for p in products if p["item_category"] == c] for c in categories}
    season = [SEASONAL_CATEGORY.get(p["item_category"], [1.0] * 12)[day.month - 1] for p in products]
    # A fifth of the customers are regulars: they come back most days (repeat visitors).
    regulars = customers[: max(1, len(customers) // 5)]
    tz = ZoneInfo(timezone)
    day_start = dt.datetime.combine(day, dt.time(0), tz)
    emitted, n_session = 0, 0
    while emitted < events:
        n_session += 1
        kind = rng.random()
        if kind < 0.45:
            user = rng.choice(regulars) if rng.random() < 0.5 else rng.choice(customers)
            # A stable device id per customer (crc32, not hash(): that changes per process).
            device_seed = f"{seed}:{user['user_id']}".encode()
            pseudo_id = f"{zlib.crc32(device_seed) % 10**9}.{int(user['user_id'])}"
        elif kind < 0.92:
            user, pseudo_id = None, f"{rng.randint(10**8, 10**9)}.{rng.randint(10**9, 2 * 10**9)}"
        else:  # consent denied: GA4 exports the hits without a user_pseudo_id
            user, pseudo_id = None, None
        # Business hours, mostly.
        start = day_start + dt.timedelta(seconds=int(min(86_399, max(0, rng.gauss(13.5 * 3600, 3.2 * 3600)))))
        ts = int(start.timestamp() * 1_000_000)
        session_id = int(start.timestamp()) - rng.randint(0, 1000)
        traffic = rng.choice(SOURCES)
        device = rng.choices(["desktop", "mobile", "tablet"], [0.7, 0.25, 0.05])[0]
        session: list[dict] = []

        def add(name, params=(), **kw):  # called only within this session's own iteration
            nonlocal ts
            ts += rng.randint(2, 90) * 1_000_000
            session.append(_event(day, ts, name, pseudo_id, session_id, list(params), user, traffic, device, **kw))  # noqa: B023

        engaged = rng.random() < 0.7
        page = f"{HOST}/"
        add(
            "session_start",
            [
                _param("page_location", page),
                _param("source", traffic[0]),
                _param("medium", traffic[1]),
                _param("session_engaged", engaged),
            ],
        )
        add("page_view", [_param("page_location", page), _param("page_title", "Demo Supply Co.")])
        if rng.random() < 0.25:  # bounced: one page only
            emitted += len(session)
            yield from session
            continue
        cart: list[tuple[dict, int]] = []
        for _ in range(rng.randint(1, 6)):
            action = rng.random()
            if action < 0.3:
                no_result = rng.random() < 0.15
                term = rng.choice(NO_RESULT_TERMS) if no_result else rng.choices(vocabulary, cum_weights=weights)[0]
                page = f"{HOST}/search?q={term.replace(' ', '+')}"
                add("page_view", [_param("page_location", page), _param("page_title", "Search")])
                add("view_search_results", [_param("search_term", term), _param("page_location", page)])
                if no_result:
                    add("no_search_results", [_param("no_search_results_term", term), _param("page_location", page)])
                    continue
            if user and rng.random() < 0.6:  # their usual trade
                trade = categories[zlib.crc32(f"{seed}:{user['user_id']}:trade".encode()) % len(categories)]
                product = rng.choice(by_category[trade])
            else:
                product = rng.choices(products, weights=season)[0]
            page = f"{HOST}/p/{product['item_id'].lower()}"
            add("page_view", [_param("page_location", page), _param("page_title", product["item_name"])])
            add(
                "view_item",
                [_param("page_location", page), _param("currency", "USD"), _param("value", product["price"])],
                items=[_item(product)],
            )
            if rng.random() < (0.45 if user else 0.2):
                qty = rng.choice([1, 1, 2, 5, 10])
                cart.append((product, qty))
                add(
                    "add_to_cart",
                    [
                        _param("page_location", page),
                        _param("currency", "USD"),
                        _param("value", round(product["price"] * qty, 2)),
                    ],
                    items=[_item(product, qty)],
                )
        if cart and rng.random() < 0.35:
            revenue = round(sum(p["price"] * q for p, q in cart), 2)
            roll = rng.random()
            txn = "(not set)" if roll < 0.02 else None if roll < 0.03 else f"T{day:%Y%m%d}-{n_session:06d}"
            ecommerce = {
                "total_item_quantity": str(sum(q for _, q in cart)),
                "purchase_revenue_in_usd": revenue,
                "purchase_revenue": revenue,
                "refund_value_in_usd": None,
                "refund_value": None,
                "shipping_value_in_usd": None,
                "shipping_value": None,
                "tax_value_in_usd": None,
                "tax_value": None,
                "unique_items": str(len(cart)),
                "transaction_id": txn,
            }
            params = [
                _param("page_location", f"{HOST}/checkout/complete"),
                _param("currency", "USD"),
                _param("value", revenue),
            ]
            if txn:
                params.append(_param("transaction_id", txn))
            items = [_item(p, q, revenue=True) for p, q in cart]
            add("purchase", params, items=items, ecommerce=ecommerce)
            if rng.random() < 0.15:  # GA4 duplicates some purchases (a reload of the receipt page)
                add("purchase", params, items=items, ecommerce=ecommerce)
        add("user_engagement", [_param("engagement_time_msec", rng.randint(1000, 600_000))])
        emitted += len(session)
        yield from session


def write_days(
    folder: Path,
    start: dt.date,
    days: int,
    events_per_day: int = 2000,
    seed: int = 7,
    timezone: str = "America/Chicago",
    progress=print,
) -> list[Path]:
    """Write `events_YYYYMMDD.ndjson` files; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(days):
        day = start + dt.timedelta(days=i)
        path = folder / f"events_{day:%Y%m%d}.ndjson"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            n = 0
            for row in generate_day(day, events_per_day, seed, timezone):
                fh.write(json.dumps(row, separators=(",", ":")) + "\n")
                n += 1
        tmp.replace(path)  # a crash never leaves a half-written day behind
        paths.append(path)
        if progress:
            progress(f"[{i + 1}/{days}] {path.name}: {n} events")
    return paths
