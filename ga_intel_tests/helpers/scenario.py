"""A tenant whose GA4 export is written by a test (helpers/export.py), loaded into the
BigQuery emulator and run through the real pipeline with `ga-intel run`, the command a
user runs. Master data comes from xlsx files in the tenant's drop folder.

    tenant = ScenarioTenant("fwd", export, emulator, tmp_path, branches=..., customers=...)
    tenant.run(D1, D2)                       # `ga-intel run --tenant fwd --date D1 --to D2`
    tenant.metrics(D1, "CHI")["revenue"]
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from click.testing import CliRunner

from ga_intel.connectors import bigquery as bq_connector
from ga_intel.db import tenant_scope
from ga_intel.masterdata.assets import master_data
from ga_intel.orchestration.resources import build_resources
from ga_intel.orchestration.run import failure_messages
from ga_intel.tenancy import store, tenant_file
from ga_intel.tenancy.tenant_file import BigQuerySettings
from ga_intel_tests.conftest import drop_folder, tenant_data
from ga_intel_tests.helpers.export import Export
from ga_intel_tests.helpers.masterdata import LOC_HEADER, USER_HEADER, xlsx

PROJECT = "test-project"


def customer(user_id: str, branch: str, company: str | None = None, first: str = "Test", last: str | None = None):
    """A customer as the export's user properties carry it, and as the user report lists it."""
    return {
        "user_id": user_id,
        "company_id": company or f"C-{user_id}",
        "branch": branch,
        "first": first,
        "last": last or user_id,
    }


class ScenarioTenant:
    def __init__(
        self,
        tenant_id: str,
        export: Export,
        emulator,
        folder: Path,
        *,
        branches: list[str],
        customers: list[dict],
        dataset: str | None = None,
        reps: dict[str, str] | None = None,
        load_master_data: bool = True,
        **settings,
    ):
        self.id = tenant_id
        self.dataset = dataset or tenant_id
        self.folder = drop_folder(tenant_id)
        reps = reps or {}
        (self.folder / "Locations_List.xlsx").write_bytes(
            xlsx(
                LOC_HEADER,
                [
                    [
                        i + 1,
                        code,
                        f"Branch {code}",
                        "City",
                        f"{code.lower()}@shop.example",
                        reps.get(code),
                        f"{reps[code].lower()}@shop.example" if code in reps else None,
                    ]
                    for i, code in enumerate(branches)
                ],
            )
        )
        (self.folder / "UserReport.xlsx").write_bytes(
            xlsx(
                USER_HEADER,
                [
                    [
                        c["user_id"],
                        c["first"],
                        c["last"],
                        f"{c['user_id']}@customer.example",
                        c["company_id"],
                        f"{c['last']} Co",
                        c["branch"],
                        "Y",
                    ]
                    for c in customers
                ],
            )
        )
        bigquery = {"project_id": PROJECT, "dataset_id": self.dataset, "api_endpoint": emulator.endpoint}
        data = tenant_data(tenant_id, folder=str(self.folder), bigquery=bigquery, timezone=export.tz.key)
        data.update(settings)
        store.add(tenant_file.validate(data, "test"))
        self.client = bq_connector.client(BigQuerySettings(**bigquery))
        if load_master_data:
            self._load_master_data()

    def _load_master_data(self) -> None:
        with dg.instance_for_test() as instance:
            instance.add_dynamic_partitions("tenant", [self.id])
            result = dg.materialize(
                [master_data],
                instance=instance,
                resources=build_resources(),
                partition_key=self.id,
                raise_on_error=False,
            )
        assert result.success, failure_messages(result)

    def load(self, export: Export, tmp: Path) -> list[dt.date]:
        """Put the export's daily tables into this tenant's dataset (replacing)."""
        return export.load(self.client, f"{PROJECT}.{self.dataset}", tmp / f"export-{self.dataset}")

    def cli(self, *args: str) -> str:
        """A `ga-intel` command that must succeed; returns its output."""
        from ga_intel.cli import main

        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == 0 and "FAILED" not in result.output, result.output
        return result.output

    def run(self, start: dt.date, end: dt.date | None = None, as_of: dt.date | None = None) -> str:
        """`ga-intel run --tenant ID --date START [--to END] [--as-of DAY]`; returns its output."""
        from ga_intel.cli import main

        args = ["run", "--tenant", self.id, "--date", start.isoformat()]
        if end:
            args += ["--to", end.isoformat()]
        if as_of:
            args += ["--as-of", as_of.isoformat()]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code == 0 and "FAILED" not in result.output, result.output
        return result.output

    def rows(self, sql: str, **params) -> list[dict]:
        with tenant_scope(self.id) as conn:
            return [dict(r) for r in conn.execute(sa.text(sql), params).mappings()]

    def metrics(self, day: dt.date, branch: str | None = None) -> dict:
        if branch:
            rows = self.rows(
                "SELECT * FROM tenant_data.location_daily_metrics WHERE event_date = :d AND branch_code = :b",
                d=day,
                b=branch,
            )
        else:
            rows = self.rows("SELECT * FROM tenant_data.daily_metrics WHERE event_date = :d", d=day)
        assert len(rows) == 1, f"no metrics row for {day} {branch or '(tenant)'}"
        return rows[0]

    def tasks(self) -> dict[str, dict]:
        return {t["task_key"]: t for t in self.rows("SELECT * FROM tenant_data.tasks ORDER BY task_key")}

    def snapshot(self) -> dict:
        """Every figure and task, without the columns that record when they were computed."""
        # Provenance, not facts: when a row was written, and which run first wrote a task.
        volatile = {"computed_at", "created_at", "updated_at", "status_set_at", "tenant_id", "source_date"}

        def clean(rows):
            return sorted(
                repr(
                    sorted((k, bytes(v) if isinstance(v, memoryview) else v) for k, v in r.items() if k not in volatile)
                )
                for r in rows
            )

        return {
            t: clean(self.rows(f"SELECT * FROM tenant_data.{t}"))
            for t in ("daily_metrics", "location_daily_metrics", "search_terms_daily", "bounced_pages_daily", "tasks")
        }
