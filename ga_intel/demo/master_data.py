"""Demo master-data files in the seed platform's format, from the seeded population, so
their ids match the synthetic GA4 data (user_id = webuserid, cimm_buying_company_id =
webcustomerid, warehouse_code = default_branch_id)."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from openpyxl import Workbook

from ga_intel.demo.population import population
from ga_intel.masterdata.columns import LOCATION_COLUMNS, USER_COLUMNS


def _save(wb: Workbook, path: Path) -> None:
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    os.replace(tmp, path)  # a reader never sees half a file


def write_files(folder: Path, seed: int = 7, extra_customers: int = 0) -> tuple[Path, Path]:
    """UserReport.xlsx and Locations_List.xlsx in `folder`; `extra_customers` pads the
    user report with more rows (for size tests and benchmarks)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    people = population(seed)
    companies = {c.company_id: c for c in people.companies}

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Locations")
    ws.append([c.header for c in LOCATION_COLUMNS])
    for b in people.branches:
        values = {
            "warehouse_id": b.warehouse_id,
            "warehouse_code": b.code,
            "warehouse_name": b.name,
            "address1": f"{100 + b.warehouse_id * 7} Industrial Pkwy",
            "city": b.city,
            "state": b.state,
            "zip": b.zip,
            "country": "US",
            "email": b.email,
            "phone_number": f"+1-555-010-{b.warehouse_id:04d}",
            "latitude": b.latitude,
            "longitude": b.longitude,
            "service_manager": b.rep_name,
            "work_hour": "Mon-Fri 7:00-17:00",
            "branch_location_id": f"BL{b.warehouse_id:03d}",
            "status": "Open",
            "is_active": "Y",
            "rep_name": b.rep_name,
            "rep_email": b.rep_email,
        }
        ws.append([values.get(c.name) for c in LOCATION_COLUMNS])
    locations = folder / "Locations_List.xlsx"
    _save(wb, locations)

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Users")
    ws.append([c.header for c in USER_COLUMNS])
    registered = dt.date(2021, 1, 4)
    customers = list(people.customers)
    for i in range(extra_customers):
        base = customers[i % len(people.customers)]
        customers.append(
            base.__class__(**{**base.__dict__, "user_id": str(900001 + i), "email": f"extra{i}@customers.example"})
        )
    for n, c in enumerate(customers):
        company = companies[c.company_id]
        values = {
            "user_id": c.user_id,
            "user_name": c.email,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "job_title": c.job_title,
            "user_erp_id": f"U{c.user_id}",
            "email": c.email,
            "office_phone": c.phone,
            "city": "Chicago",
            "state": "IL",
            "country": "US",
            "registered_date": registered + dt.timedelta(days=n % 700),
            "last_login_date": dt.date(2026, 11, 1) - dt.timedelta(days=n % 60),
            "company_name": company.name,
            "company_id": company.company_id,
            "company_erp_id": company.erp_id,
            "branch_code": c.branch,
            "role_name": "Customer",
            "site_name": "Demo Supply Co.",
            "is_active": "Y",
        }
        ws.append([values.get(col.name) for col in USER_COLUMNS])
    users = folder / "UserReport.xlsx"
    _save(wb, users)
    return users, locations
