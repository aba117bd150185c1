"""`ga-intel reps ...` and `ga-intel masterdata ...`."""

from __future__ import annotations

from pathlib import Path

import click

from ga_intel.cli_support import needs_database


@click.group("reps")
def reps() -> None:
    """The branch -> sales-rep mapping (manual rows survive file reloads)."""


@reps.command("list")
@click.option("--tenant", "tenant_id", required=True)
@needs_database
def reps_list(tenant_id: str) -> None:
    from ga_intel.masterdata.reps import list_reps
    from ga_intel.tenancy import store

    store.get(tenant_id)
    rows = list_reps(tenant_id)
    if not rows:
        click.echo("no sales reps yet: load master data, or add one with `ga-intel reps set`")
    for r in rows:
        state = "" if r["enabled"] else "  (disabled)"
        click.echo(
            f"{r['branch_code']:<10} {r['rep_email']:<40} {r['rep_name']:<25} {r['role']:<8} {r['source']}{state}"
        )


@reps.command("set")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--branch", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role",
    type=click.Choice(["rep", "manager"]),
    default="rep",
    show_default=True,
    help="managers get the branch report too, but are never assigned tasks",
)
@click.option("--disabled", is_flag=True)
@needs_database
def reps_set(tenant_id: str, branch: str, email: str, name: str, role: str, disabled: bool) -> None:
    from ga_intel.masterdata.reps import set_rep
    from ga_intel.tenancy import store

    store.get(tenant_id)
    set_rep(tenant_id, branch, email, name, enabled=not disabled, role=role)
    click.echo(f"{branch}: {email} ({name}, {role}){' disabled' if disabled else ''}")


@reps.command("remove")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--branch", required=True)
@click.option("--email", required=True)
@needs_database
def reps_remove(tenant_id: str, branch: str, email: str) -> None:
    from ga_intel.errors import GaIntelError
    from ga_intel.masterdata.reps import remove_rep
    from ga_intel.tenancy import store

    store.get(tenant_id)
    if not remove_rep(tenant_id, branch, email):
        raise GaIntelError(
            f"tenant {tenant_id!r} has no rep {email} for branch {branch}",
            hint=f"`ga-intel reps list --tenant {tenant_id}` shows the mapping",
        )
    click.echo(f"removed {email} from {branch}")


@click.group("masterdata")
def masterdata() -> None:
    """Master-data files."""


@masterdata.command("demo")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--extra-customers", default=0, show_default=True, help="pad the user report (size tests)")
def masterdata_demo(folder: Path, extra_customers: int) -> None:
    """Write demo UserReport.xlsx and Locations_List.xlsx matching the synthetic GA4 data."""
    from ga_intel.demo.master_data import write_files

    for path in write_files(folder, extra_customers=extra_customers):
        click.echo(f"wrote {path}")


@masterdata.command("load")
@click.option("--tenant", "tenant_id", required=True)
@click.option("--force", is_flag=True, help="reload even if the files and the column mapping are unchanged")
@needs_database
def masterdata_load(tenant_id: str, force: bool) -> None:
    """Fetch, check and load a tenant's master data now (what the hourly schedule runs),
    then say how many customers, branches and reps were added, updated and removed."""
    import sys

    from ga_intel.orchestration.run import load_master_data

    if not load_master_data(tenant_id, echo=click.echo, force=force):
        sys.exit(1)
