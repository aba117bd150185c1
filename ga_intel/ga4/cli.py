"""`ga-intel ga4 ...`: load GA4 export files into BigQuery (or the emulator), generate
synthetic ones."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


@click.group("ga4")
def ga4() -> None:
    """GA4 export data: load NDJSON into BigQuery, generate synthetic days."""


@ga4.command("load")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--project", required=True, help="BigQuery project")
@click.option("--dataset", required=True, help="dataset to load into (created if missing)")
@click.option("--endpoint", help="an emulator's URL (anonymous credentials)")
@click.option("--credentials", type=click.Path(exists=True, path_type=Path), help="service-account key JSON")
def load_cmd(folder: Path, project: str, dataset: str, endpoint: str | None, credentials: Path | None) -> None:
    """Load every events_YYYYMMDD.ndjson in FOLDER as a daily export table."""
    from ga_intel.connectors.bigquery import client as bigquery_client
    from ga_intel.ga4.load import load_folder
    from ga_intel.tenancy.tenant_file import BigQuerySettings

    if not endpoint and not credentials:
        raise click.UsageError("give --credentials (a service-account key file) or --endpoint (an emulator)")
    from pydantic import ValidationError

    from ga_intel.errors import GaIntelError

    # The same settings checks, client and credential errors as the pipeline.
    try:
        settings = BigQuerySettings(
            project_id=project,
            dataset_id=dataset,
            api_endpoint=endpoint,
            service_account=credentials.read_text() if credentials else None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        option = {"project_id": "--project", "dataset_id": "--dataset", "api_endpoint": "--endpoint"}.get(
            str(first["loc"][0]) if first["loc"] else "", "--credentials"
        )
        raise GaIntelError(f"{option}: {first['msg'].removeprefix('Value error, ')}") from None
    client = bigquery_client(settings)
    loaded = load_folder(client, f"{project}.{dataset}", folder, progress=click.echo)
    click.echo(f"loaded {sum(loaded.values())} events into {len(loaded)} daily table(s) of {project}.{dataset}")


@ga4.command("generate")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--days", type=int, default=30, show_default=True)
@click.option("--events-per-day", type=int, default=20_000, show_default=True)
@click.option("--seed", type=int, default=7, show_default=True)
def generate_cmd(folder: Path, start: dt.datetime, days: int, events_per_day: int, seed: int) -> None:
    """Write synthetic B2B-shop GA4 export days (NDJSON) matching the demo master data."""
    from ga_intel.demo.generator import write_days

    write_days(folder, start.date(), days, events_per_day, seed, progress=click.echo)
