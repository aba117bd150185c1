"""Render one report from the current data without touching the ledger or SMTP."""

from __future__ import annotations

import datetime as dt

from ga_intel.db import tenant_scope
from ga_intel.email import content
from ga_intel.email.render import RenderedEmail, render
from ga_intel.errors import GaIntelError

SUMMARY_NAMES = ("summary", content.SUMMARY)


def preview(tenant_id: str, branch: str, day: dt.date) -> RenderedEmail:
    from ga_intel.tenancy import store

    config = store.get(tenant_id)
    with tenant_scope(tenant_id) as conn:
        incomplete = content.completeness(conn, day)
        if branch in SUMMARY_NAMES:
            report = content.summary_report(conn, config, day, incomplete)
        else:
            names = dict(content.branches(conn))
            if branch not in names:
                known = ", ".join(sorted(names)) or "none (load master data first)"
                raise GaIntelError(
                    f"branch {branch!r} is not in tenant {tenant_id!r}'s locations list",
                    hint=f"known branches: {known}; or 'summary' for the tenant-wide report",
                )
            report = content.branch_report(conn, config, day, branch, names[branch], incomplete)
    return render(report, config.email)
