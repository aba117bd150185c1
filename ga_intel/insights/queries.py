"""The insights SQL (ga_intel/insights/sql/, rendered by ga_intel.db.sqlfiles) and the
bound parameters every query takes from the tenant's rules."""

from __future__ import annotations

import math

from ga_intel.db import sqlfiles
from ga_intel.tenancy.tenant_file import TenantConfig


def sql(name: str) -> str:
    return sqlfiles.render(f"ga_intel/insights/sql/{name}.sql")


def window_days(config: TenantConfig) -> int:
    """Purchases up to this many days after a cart day can fall inside its window."""
    return math.ceil(config.rules.cart_abandonment_hours / 24)


def rule_params(config: TenantConfig) -> dict:
    rules = config.rules
    return {
        "currency": config.ga4.reporting_currency,
        "abandon_hours": rules.cart_abandonment_hours,
        "window_days": window_days(config),
        "repeat_days": rules.repeat_visitor_days,
        "repeat_min_sessions": rules.repeat_visitor_min_sessions,
    }
