"""The demo shop's people and places, seeded, shared by both demo generators.

The synthetic GA4 export and the demo master-data files must agree on ids: a GA4
`webuserid` must be a `user_id` of the user report, `webcustomerid` a
`cimm_buying_company_id`, `default_branch_id` a locations list `warehouse_code`. Both
generators build their rows from this one population, so they always do.

Ids follow the seed platform's shape: customers `100001`..., companies `C0001`...,
branches are short warehouse codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

BRANCHES = [
    # code, name, city, state, zip, lat, lon
    ("CHI", "Chicago Central", "Chicago", "IL", "60607", 41.8781, -87.6298),
    ("MKE", "Milwaukee North", "Milwaukee", "WI", "53202", 43.0389, -87.9065),
    ("IND", "Indianapolis", "Indianapolis", "IN", "46204", 39.7684, -86.1581),
    ("STL", "St. Louis Riverfront", "St. Louis", "MO", "63101", 38.6270, -90.1994),
    ("DSM", "Des Moines", "Des Moines", "IA", "50309", 41.5868, -93.6250),
]

_FIRST = [
    "Ava",
    "Ben",
    "Carla",
    "Dev",
    "Elena",
    "Frank",
    "Grace",
    "Hiro",
    "Ines",
    "Jon",
    "Kara",
    "Luis",
    "Maya",
    "Nils",
    "Olga",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Wes",
    "Yuki",
    "Zoe",
]
_LAST = [
    "Anders",
    "Brooks",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ivanov",
    "Jensen",
    "Khan",
    "Lopez",
    "Miller",
    "Novak",
    "Owens",
    "Patel",
    "Reyes",
    "Schmidt",
    "Turner",
    "Weber",
]
_COMPANY = ["Plumbing", "Mechanical", "HVAC", "Electric", "Builders", "Contracting", "Facilities", "Supply"]
_TITLES = ["Purchasing Manager", "Owner", "Project Manager", "Service Technician", "Estimator", "Buyer"]


@dataclass(frozen=True)
class Branch:
    code: str
    warehouse_id: int
    name: str
    city: str
    state: str
    zip: str
    latitude: float
    longitude: float
    email: str
    rep_name: str
    rep_email: str


@dataclass(frozen=True)
class Company:
    company_id: str
    erp_id: str
    name: str
    branch: str


@dataclass(frozen=True)
class Customer:
    user_id: str
    first_name: str
    last_name: str
    email: str
    job_title: str
    company_id: str
    branch: str
    phone: str


@dataclass(frozen=True)
class Population:
    branches: list[Branch]
    companies: list[Company]
    customers: list[Customer]


@lru_cache(maxsize=8)
def population(seed: int = 7, companies: int = 60, customers_per_company: int = 4) -> Population:
    rng = random.Random(seed)
    branches = []
    for i, (code, name, city, state, zip_, lat, lon) in enumerate(BRANCHES, start=1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        branches.append(
            Branch(
                code=code,
                warehouse_id=i,
                name=name,
                city=city,
                state=state,
                zip=zip_,
                latitude=lat,
                longitude=lon,
                email=f"{code.lower()}@demo.example",
                rep_name=f"{first} {last}",
                rep_email=f"{first}.{last}".lower() + "@demo.example",
            )
        )
    company_rows, customer_rows = [], []
    n = 100001
    for c in range(1, companies + 1):
        last = rng.choice(_LAST)
        branch = rng.choice(branches).code
        company = Company(
            company_id=f"C{c:04d}", erp_id=f"ERP{c:05d}", name=f"{last} {rng.choice(_COMPANY)}", branch=branch
        )
        company_rows.append(company)
        for _ in range(rng.randint(1, customers_per_company * 2 - 1)):
            first, surname = rng.choice(_FIRST), rng.choice(_LAST)
            customer_rows.append(
                Customer(
                    user_id=str(n),
                    first_name=first,
                    last_name=surname,
                    email=f"{first}.{surname}.{n}".lower() + "@customers.example",
                    job_title=rng.choice(_TITLES),
                    company_id=company.company_id,
                    branch=branch,
                    phone=f"+1-555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                )
            )
            n += 1
    return Population(branches=branches, companies=company_rows, customers=customer_rows)
