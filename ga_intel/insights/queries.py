"""Load the SQL files, with the shared attribution CTEs spliced in."""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

from ga_intel.tenancy.tenant_file import RuleSettings

SQL_DIR = Path(__file__).parent / "sql"


@cache
def sql(name: str) -> str:
    text = (SQL_DIR / f"{name}.sql").read_text()
    attribution = "\n".join(line for line in (SQL_DIR / "_attribution.sql").read_text().splitlines()
                            if not line.lstrip().startswith("--"))
    return text.replace("{attribution}", attribution)


def rule_params(rules: RuleSettings) -> dict:
    return {
        "abandon_hours": rules.cart_abandonment_hours,
        # Purchases up to this many days after a cart day can fall inside its window.
        "window_days": math.ceil(rules.cart_abandonment_hours / 24),
        "repeat_days": rules.repeat_visitor_days,
        "repeat_min_sessions": rules.repeat_visitor_min_sessions,
        "lookback_days": 0,
    }
