"""Load GA4 export NDJSON files (`events_YYYYMMDD.ndjson`) into BigQuery daily tables.

Tables are created with the export's explicit schema (schema/events_schema.json), never
autodetected: autodetection turns INT64-as-string into STRING and drops all-null fields.
Both NDJSON shapes load: null fields written as `null`, or left out.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

from ga_intel.errors import GaIntelError

SCHEMA_FILE = Path(__file__).parent / "schema" / "events_schema.json"
# Columns GA4 added to the export since 2023; a file whose rows carry them loads with them.
ADDED_SCHEMA_FILE = Path(__file__).parent / "schema" / "events_schema_since_2023.json"
FILE_NAME = re.compile(r"^events_((?:intraday_)?\d{8})\.ndjson$")


@cache
def export_schema(modern: bool = False) -> list:
    """The export's schema: the classic columns, plus the post-2023 ones when `modern`."""
    from google.cloud import bigquery

    fields = json.loads(SCHEMA_FILE.read_text())
    if modern:
        fields += json.loads(ADDED_SCHEMA_FILE.read_text())
    return [bigquery.SchemaField.from_api_repr(f) for f in fields]


def _is_modern(first_line: bytes) -> bool:
    """Whether a file's rows carry the post-2023 columns (judged by its first row)."""
    try:
        row = json.loads(first_line)
    except ValueError:
        return False
    return any(f["name"] in row for f in json.loads(ADDED_SCHEMA_FILE.read_text()))


def daily_files(folder: Path) -> list[tuple[str, Path]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise GaIntelError(f"{folder} is not a folder", hint="give the folder holding events_YYYYMMDD.ndjson files")
    files = sorted((m.group(1), p) for p in folder.iterdir() if (m := FILE_NAME.match(p.name)))
    if not files:
        raise GaIntelError(f"{folder} holds no events_YYYYMMDD.ndjson files")
    return files


# Upload in parts of at most this size: a 1M-event day is over 1 GB of NDJSON, more than
# one upload takes (the emulator caps it at 1 GiB).
CHUNK_BYTES = 256 * 1024 * 1024


def load_day(client, dataset: str, day: str, source, *, replace: bool = True) -> int:
    """Load one day's NDJSON (a path or a binary file object) into `<dataset>.events_<day>`,
    in parts of at most CHUNK_BYTES (the first replaces the table, the rest append)."""
    fh = open(source, "rb") if isinstance(source, (str, Path)) else source
    total = 0
    try:
        first = True
        modern = False
        while True:
            chunk = fh.read(CHUNK_BYTES)
            if not chunk:
                break
            chunk += fh.readline()  # end on a line boundary
            if first:
                modern = _is_modern(chunk.split(b"\n", 1)[0])
            total += _load_part(
                client, dataset, day, io.BytesIO(chunk), source, replace=replace and first, modern=modern
            )
            first = False
        if first:  # an empty file: still a daily table, with no events
            from google.cloud import bigquery

            table_id = f"{dataset}.events_{day}"
            if replace:
                client.delete_table(table_id, not_found_ok=True)
            client.create_table(bigquery.Table(table_id, schema=export_schema()), exists_ok=True)
    finally:
        if fh is not source:
            fh.close()
    return total


def _load_part(client, dataset: str, day: str, fh, source, *, replace: bool, modern: bool = False) -> int:
    from google.api_core import exceptions as gexc
    from google.cloud import bigquery

    table_id = f"{dataset}.events_{day}"
    if replace:  # a modern file replacing a classic table (or back) needs the other schema
        client.delete_table(table_id, not_found_ok=True)
    client.create_table(bigquery.Table(table_id, schema=export_schema(modern)), exists_ok=True)
    config = bigquery.LoadJobConfig(
        schema=export_schema(modern),
        source_format=bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE
        if replace
        else bigquery.WriteDisposition.WRITE_APPEND,
    )
    try:
        job = client.load_table_from_file(fh, table_id, job_config=config, rewind=True)
        job.result()
    except gexc.BadRequest as exc:
        where = f" ({source})" if isinstance(source, (str, Path)) else ""
        raise GaIntelError(
            f"BigQuery rejected events_{day}{where}: {exc.message}",
            hint="the file must be a GA4 export in NDJSON (bq extract --destination_format NEWLINE_DELIMITED_JSON)",
        ) from None
    return job.output_rows or 0


def load_folder(client, dataset: str, folder: Path, progress: Callable[[str], None] = print) -> dict[str, int]:
    """Create the dataset if needed and load every daily file in `folder`."""
    client.create_dataset(dataset, exists_ok=True)
    files = daily_files(folder)
    loaded = {}
    for i, (day, path) in enumerate(files, 1):
        loaded[day] = load_day(client, dataset, day, path)
        progress(f"[{i}/{len(files)}] events_{day}: {loaded[day]} events")
    return loaded
