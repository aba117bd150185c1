"""Shop: plants master data and GA4 rows for one tenant straight into the ingested tables,
so a test states exactly what happened and when (the ingestion itself is tested against
the BigQuery emulator in test_ga4_ingest.py)."""

from __future__ import annotations

import datetime as dt
import itertools

import dagster as dg
import sqlalchemy as sa

from ga_intel.db import tenant_scope
from ga_intel.insights.assets import insights_day
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel_tests.conftest import tenant_data

D1 = dt.date(2024, 3, 4)
UTC = dt.UTC
_session_ids = itertools.count(1000)


def at(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), UTC) + dt.timedelta(hours=hour)


class Shop:
    """Plants master data and GA4 rows for one tenant."""

    def __init__(self, tenant_id: str, data: dict | None = None, **rules):
        data = data or tenant_data(tenant_id)
        if rules:
            data["rules"] = rules
        store.add(tenant_file.validate(data, "test"))
        self.t = tenant_id
        with tenant_scope(tenant_id) as c:
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.locations (tenant_id, warehouse_code, warehouse_id, "
                    "warehouse_name, source_row) VALUES (:t, 'CHI', '1', 'Chicago', 2), "
                    "(:t, 'MKE', '2', 'Milwaukee', 3)"
                ),
                {"t": tenant_id},
            )
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.users (tenant_id, user_id, first_name, last_name, company_id, "
                    "branch_code, source_row) VALUES (:t, 'u1', 'Ava', 'Chen', 'C1', 'CHI', 2), "
                    "(:t, 'u2', 'Ben', 'Diaz', 'C2', 'MKE', 3), (:t, 'u3', 'Cy', 'Eng', 'C3', 'CHI', 4)"
                ),
                {"t": tenant_id},
            )
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name) "
                    "VALUES (:t, 'CHI', 'kara@shop.example', 'Kara')"
                ),
                {"t": tenant_id},
            )

    def session(self, day, hour, *, customer=None, company=None, device=None, pages=2, cart=False, purchase=False):
        sid = next(_session_ids)
        device = device or f"dev-{customer or company or sid}"
        with tenant_scope(self.t) as c:
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.sessions (tenant_id, event_date, customer_id, company_id, user_pseudo_id, "
                    "ga_session_id, session_start, session_end, page_views, engaged, had_add_to_cart, had_purchase, "
                    "event_count, landing_page) VALUES (:t, :d, :cu, :co, :dev, :sid, :s, :e, :pv, true, :cart, :buy, 5, "
                    "'https://shop/')"
                ),
                {
                    "t": self.t,
                    "d": day,
                    "cu": customer,
                    "co": company,
                    "dev": device,
                    "sid": sid,
                    "s": at(day, hour),
                    "e": at(day, hour + 0.5),
                    "pv": pages,
                    "cart": cart,
                    "buy": purchase,
                },
            )
        self.available(day, "provisional", keep=True)  # the day is loaded (as far as its last event)
        return device, sid

    def cart(self, day, hour, value, *, customer=None, company=None):
        device, sid = self.session(day, hour, customer=customer, company=company, cart=True)
        with tenant_scope(self.t) as c:
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.cart_adds (tenant_id, event_date, customer_id, company_id, user_pseudo_id, "
                    "ga_session_id, event_time, event_timestamp, line_no, item_id, item_name, quantity, price, value) "
                    "VALUES (:t, :d, :cu, :co, :dev, :sid, :ts, 1, 0, 'SKU-1', 'Ball Valve', 1, :v, :v)"
                ),
                {
                    "t": self.t,
                    "d": day,
                    "cu": customer,
                    "co": company,
                    "dev": device,
                    "sid": sid,
                    "ts": at(day, hour + 0.1),
                    "v": value,
                },
            )

    def purchase(
        self, day, hour, revenue, txn, *, customer=None, company=None, duplicate_events=1, items=None, id_status="ok"
    ):
        """A purchase with its items: (sku, quantity, price), default one SKU-1 worth `revenue`."""
        device, sid = self.session(day, hour, customer=customer, company=company, purchase=True)
        ts = at(day, hour + 0.2)
        us = int(ts.timestamp() * 1e6)
        with tenant_scope(self.t) as c:
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.purchases (tenant_id, event_date, customer_id, company_id, user_pseudo_id, "
                    "ga_session_id, transaction_id, id_status, event_time, event_timestamp, revenue, currency, item_count, "
                    "duplicate_events) VALUES (:t, :d, :cu, :co, :dev, :sid, :x, :status, :ts, :us, :r, 'USD', 1, :dup)"
                ),
                {
                    "t": self.t,
                    "d": day,
                    "cu": customer,
                    "co": company,
                    "dev": device,
                    "sid": sid,
                    "x": txn,
                    "status": id_status,
                    "ts": ts,
                    "us": us,
                    "r": revenue,
                    "dup": duplicate_events,
                },
            )
            for n, (sku, qty, price) in enumerate(items or [("SKU-1", 1, revenue)]):
                c.execute(
                    sa.text(
                        "INSERT INTO tenant_data.purchase_items (tenant_id, event_date, customer_id, company_id, "
                        "user_pseudo_id, ga_session_id, transaction_id, event_time, event_timestamp, line_no, item_id, "
                        "item_name, price, quantity, item_revenue, currency) VALUES (:t, :d, :cu, :co, :dev, :sid, :x, "
                        ":ts, :us, :n, :sku, :sku, :p, :q, :rev, 'USD')"
                    ),
                    {
                        "t": self.t,
                        "d": day,
                        "cu": customer,
                        "co": company,
                        "dev": device,
                        "sid": sid,
                        "x": txn,
                        "ts": ts,
                        "us": us,
                        "n": n,
                        "sku": sku,
                        "p": price,
                        "q": qty,
                        "rev": price * qty,
                    },
                )

    def search(self, day, hour, term, *, customer=None, no_results=False, clicked=False):
        device, sid = self.session(day, hour, customer=customer)
        with tenant_scope(self.t) as c:
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.searches (tenant_id, event_date, customer_id, user_pseudo_id, ga_session_id, "
                    "event_time, event_timestamp, event_name, search_term, no_results, then_view_item, then_add_to_cart, "
                    "then_purchase) VALUES (:t, :d, :cu, :dev, :sid, :ts, 1, 'view_search_results', :term, :nr, :cl, "
                    ":cl, false)"
                ),
                {
                    "t": self.t,
                    "d": day,
                    "cu": customer,
                    "dev": device,
                    "sid": sid,
                    "ts": at(day, hour + 0.1),
                    "term": term,
                    "nr": no_results,
                    "cl": clicked,
                },
            )

    def available(self, day, status="complete", keep=False):
        """The day's GA4 export as ingestion would record it (`keep`: leave a status that is
        already recorded)."""
        conflict = "NOTHING" if keep else "UPDATE SET status = EXCLUDED.status"
        with tenant_scope(self.t) as c:
            c.execute(
                sa.text(
                    "INSERT INTO tenant_data.data_availability (tenant_id, event_date, source_table, status) "
                    f"VALUES (:t, :d, :src, :s) ON CONFLICT (tenant_id, event_date) DO {conflict}"
                ),
                {"t": self.t, "d": day, "src": f"events_{day:%Y%m%d}", "s": status},
            )

    def run(self, day, instance=None, as_of=None):
        """Materialize the day's metrics and tasks (in `instance`, or a throwaway one), as if
        run on `as_of` (default: the next morning, as the daily schedule does)."""
        if instance is None:
            with dg.instance_for_test() as throwaway:
                return self.run(day, throwaway, as_of)
        as_of = as_of or day + dt.timedelta(days=1)
        if self.t not in instance.get_dynamic_partitions("tenant"):
            instance.add_dynamic_partitions("tenant", [self.t])
        result = dg.materialize(
            [insights_day],
            instance=instance,
            resources=build_resources(),
            partition_key=dg.MultiPartitionKey({"tenant": self.t, "date": day.isoformat()}),
            run_config={"ops": {"insights_day": {"config": {"as_of": as_of.isoformat()}}}},
            raise_on_error=False,
        )
        assert result.success, failure_messages(result)
        return result

    def tasks(self):
        with tenant_scope(self.t) as c:
            return {
                r["task_key"]: dict(r)
                for r in c.execute(sa.text("SELECT * FROM tenant_data.tasks ORDER BY task_key")).mappings()
            }

    def metrics(self, day, branch=None):
        with tenant_scope(self.t) as c:
            if branch:
                return dict(
                    c.execute(
                        sa.text(
                            "SELECT * FROM tenant_data.location_daily_metrics WHERE event_date = :d "
                            "AND branch_code = :b"
                        ),
                        {"d": day, "b": branch},
                    )
                    .mappings()
                    .one()
                )
            return dict(
                c.execute(sa.text("SELECT * FROM tenant_data.daily_metrics WHERE event_date = :d"), {"d": day})
                .mappings()
                .one()
            )
