"""Fetch, check and replace a tenant's master data.

A file version whose checksum matches the last loaded one is a no-op. A changed pair of
files is validated in full, then replaces `users` and `locations` in one transaction
(with the file versions recorded); any problem leaves the previous data in place.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel import settings
from ga_intel.db import tenant_scope
from ga_intel.db.bulk import copy_via_stage
from ga_intel.errors import ServiceError
from ga_intel.masterdata import columns as cols
from ga_intel.masterdata.read import read_xlsx
from ga_intel.masterdata.validate import MasterDataInvalid, Report, clean, cross_check
from ga_intel.tenancy.tenant_file import MasterDataSettings, TenantConfig

RETRIES = 3
BACKOFF_SECONDS = 2.0
# Bump when reading or validation rules change what a file loads as: the next run then
# reloads unchanged files instead of treating them as a no-op.
READER_VERSION = "3"  # 2: spaces equal underscores in headers; 3: control characters become spaces


@dataclass
class FetchedFile:
    kind: str
    name: str
    data: bytes
    size: int
    mtime: dt.datetime

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Changes:
    """Rows added, updated and removed by one load, by their key (customer id, branch
    code, branch + rep email); `total` is the count after the load."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    total: int = 0

    def text(self) -> str:
        return f"{self.added:,} added, {self.updated:,} updated, {self.removed:,} removed ({self.total:,} now)"


@dataclass
class LoadResult:
    changed: bool
    files: dict[str, FetchedFile]
    rows: dict[str, int] = field(default_factory=dict)
    changes: dict[str, Changes] = field(default_factory=dict)  # users | locations | sales_reps
    reps_seeded: int = 0
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)  # kind -> headers no column maps to
    report: Report = field(default_factory=Report)


def with_retries(fn: Callable, what: str, log=None, retries: int | None = None, backoff: float | None = None):
    """Call `fn`, retrying transient ServiceErrors with doubling waits, then failing with
    the last error (bounded: `retries` attempts)."""
    retries = RETRIES if retries is None else retries
    backoff = BACKOFF_SECONDS if backoff is None else backoff
    for attempt in range(1, retries + 1):
        try:
            return fn()
        except ServiceError as exc:
            if not exc.transient or attempt == retries:
                raise
            wait = backoff * 2 ** (attempt - 1)
            if log:
                log(f"{what}: {exc.message}; retrying in {wait:.0f} s ({attempt}/{retries - 1})")
            time.sleep(wait)


def _say(progress, message: str) -> None:
    if progress:
        progress(message)


def fetch(session_factory, config: TenantConfig, log=None, progress=None) -> dict[str, FetchedFile]:
    return fetch_files(session_factory, config.sftp or config.folder, config.id, log, progress)


def fetch_files(session_factory, source, tenant_id: str, log=None, progress=None) -> dict[str, FetchedFile]:
    """Both files of `source` (the sftp or folder settings), size-capped, with retries."""
    names = {"users": source.user_file, "locations": source.locations_file}

    from ga_intel.masterdata.read import check_file_size

    limit = settings.master_data_limits().max_file_bytes

    def attempt():
        out = {}
        with session_factory() as session:
            for kind, name in names.items():
                info = session.stat(name)
                _say(progress, f"fetching {name} ({info.size:,} bytes, {session.where})")
                check_file_size(info.size, name)  # before a byte is downloaded
                # Never more than the cap in memory, even if the file grows after the stat.
                data = session.read(name, max_bytes=limit + 1)
                if len(data) != info.size:
                    # Being (re)written while we read it: try again shortly.
                    raise ServiceError(
                        "master data",
                        f"{name} changed while it was read ({info.size:,} bytes listed, {len(data):,} read)",
                        transient=True,
                    )
                out[kind] = FetchedFile(kind, name, data, info.size, dt.datetime.fromtimestamp(info.mtime, dt.UTC))
        return out

    return with_retries(attempt, f"fetching master data for {tenant_id}", log)


def settings_fingerprint(user_cols: list[cols.Column], loc_cols: list[cols.Column]) -> str:
    """What besides the bytes decides what a file loads as: the resolved column mapping
    and the reader version."""
    payload = {
        "reader": READER_VERSION,
        "users": [(c.name, c.header) for c in user_cols],
        "locations": [(c.name, c.header) for c in loc_cols],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def stale_reason(session_factory, config: TenantConfig) -> str | None:
    """Why the master data should be loaded now, or None when the files (name, size,
    modification time) and the column mapping are those of the last load. Cheap: only
    the files' listing is read, never their bytes."""
    source = config.sftp or config.folder
    names = {"users": source.user_file, "locations": source.locations_file}
    fingerprint = settings_fingerprint(
        cols.resolve("users", config.master_data.user_columns),
        cols.resolve("locations", config.master_data.location_columns),
    )
    with tenant_scope(config.id) as conn:
        last = {
            r.kind: r
            for r in conn.execute(
                sa.text(
                    "SELECT DISTINCT ON (kind) kind, file_name, mtime, size_bytes, settings_sha256 "
                    "FROM tenant_data.master_data_files WHERE tenant_id = :tenant ORDER BY kind, loaded_at DESC"
                ),
                {"tenant": config.id},
            )
        }
    if set(last) != set(names):
        return "master data was never loaded"
    if any(r.settings_sha256 != fingerprint for r in last.values()):
        return "the column mapping changed since the last load"
    with session_factory() as session:
        for kind, name in names.items():
            info = session.stat(name)
            mtime = dt.datetime.fromtimestamp(info.mtime, dt.UTC)
            row = last[kind]
            if row.file_name != name or row.size_bytes != info.size or abs((row.mtime - mtime).total_seconds()) > 1e-3:
                return f"{name} changed since the last load"
    return None


def _snapshot(conn: Connection, table: str, key: list[str], values: list[str]) -> dict[tuple, str]:
    """key -> a hash of the row's values: what a load compares to count its changes."""
    keys = ", ".join(key)
    row = ", ".join(values)
    return {
        tuple(r[:-1]): r[-1]
        for r in conn.execute(sa.text(f"SELECT {keys}, md5(ROW({row})::text) FROM tenant_data.{table}"))
    }


def _changes(before: dict[tuple, str], after: dict[tuple, str]) -> Changes:
    return Changes(
        added=sum(k not in before for k in after),
        removed=sum(k not in after for k in before),
        updated=sum(k in before and before[k] != h for k, h in after.items()),
        total=len(after),
    )


def last_versions(conn: Connection, tenant_id: str) -> dict[str, tuple[str, str | None]]:
    """kind -> (file sha256, settings sha256) of the version in place."""
    rows = conn.execute(
        sa.text(
            "SELECT DISTINCT ON (kind) kind, sha256, settings_sha256 FROM tenant_data.master_data_files "
            "WHERE tenant_id = :tenant ORDER BY kind, loaded_at DESC"
        ),
        {"tenant": tenant_id},
    ).all()
    return {kind: (sha, settings_sha) for kind, sha, settings_sha in rows}


def reps_by_branch(conn: Connection, tenant_id: str) -> dict[str, int]:
    rows = conn.execute(
        sa.text(
            "SELECT branch_code, count(*) FROM tenant_data.sales_reps WHERE tenant_id = :tenant AND enabled GROUP BY 1"
        ),
        {"tenant": tenant_id},
    ).all()
    return dict(rows)


def _csv_value(value):
    if value is None:
        return None
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _insert(conn: Connection, table: str, tenant_id: str, records: list[dict], names: list[str]) -> int:
    """COPY the records in (through `db.bulk`'s staging table: COPY is refused under RLS)."""
    if not records:
        return 0
    columns = ["tenant_id", *names, "source_row"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for r in records:
        # csv writes None as an unquoted empty field, which COPY reads as NULL; the
        # reader never yields empty strings (blank cells are None).
        writer.writerow([tenant_id, *(_csv_value(r.get(n)) for n in names), r["_row"]])
    buf.seek(0)
    copy_via_stage(conn, table, columns, [buf])
    return len(records)


def seed_reps(conn: Connection, tenant_id: str, locations: list[dict]) -> int:
    """Rep mapping rows from the locations file (source 'file'); a person's manual edits
    for the same branch and email win, and file rows that left the file go."""
    conn.execute(
        sa.text("DELETE FROM tenant_data.sales_reps WHERE tenant_id = :tenant AND source = 'file'"),
        {"tenant": tenant_id},
    )
    seeded = 0
    for loc in locations:
        if not loc.get("rep_email"):
            continue
        result = conn.execute(
            sa.text(
                "INSERT INTO tenant_data.sales_reps (tenant_id, branch_code, rep_email, rep_name, enabled, source) "
                "VALUES (:tenant, :b, :e, :n, true, 'file') ON CONFLICT (tenant_id, branch_code, rep_email) DO NOTHING"
            ),
            {
                "tenant": tenant_id,
                "b": loc["warehouse_code"],
                "e": loc["rep_email"],
                "n": loc.get("rep_name") or loc["rep_email"],
            },
        )
        seeded += result.rowcount
    return seeded


@dataclass
class CheckedFiles:
    users: list[dict]
    locations: list[dict]
    report: Report
    ignored_columns: dict[str, list[str]]  # kind -> headers no column maps to


def check_files(
    mapping: MasterDataSettings, files: dict[str, FetchedFile], coverage: dict[str, int], progress=None
) -> CheckedFiles:
    """Read and validate both files as a load would, without writing anything. `mapping`
    is the tenant's column mapping; `coverage` is reps per branch beyond the files' own
    (the stored manual reps; none for a tenant being set up)."""
    from ga_intel.masterdata.read import FileProblem
    from ga_intel.masterdata.validate import Problem

    user_cols = cols.resolve("users", mapping.user_columns)
    loc_cols = cols.resolve("locations", mapping.location_columns)
    report = Report()
    sheets = {}
    for kind, columns in (("users", user_cols), ("locations", loc_cols)):
        _say(progress, f"reading {files[kind].name}")
        try:
            sheets[kind] = read_xlsx(files[kind].data, files[kind].name, columns)
        except FileProblem as exc:
            report.problems.append(Problem(files[kind].name, None, None, exc.message))
    users = clean(sheets["users"], user_cols, "user_id", report) if "users" in sheets else []
    locations = clean(sheets["locations"], loc_cols, "warehouse_code", report) if "locations" in sheets else []
    _say(progress, f"checking {len(users):,} customer(s) and {len(locations):,} branch(es)")
    if users and locations:
        # Reps the files will seed count as coverage too.
        coverage = dict(coverage)
        for loc in locations:
            if loc.get("rep_email"):
                coverage[loc["warehouse_code"]] = coverage.get(loc["warehouse_code"], 0) + 1
        cross_check(users, locations, sheets["users"], report, coverage)
    return CheckedFiles(users, locations, report, {kind: sheet.extra_headers for kind, sheet in sheets.items()})


def load(
    config: TenantConfig, files: dict[str, FetchedFile], run_id: str | None = None, force: bool = False, progress=None
) -> LoadResult:
    tenant_id = config.id
    result = LoadResult(changed=False, files=files)
    with tenant_scope(tenant_id) as conn:
        user_cols = cols.resolve("users", config.master_data.user_columns)
        loc_cols = cols.resolve("locations", config.master_data.location_columns)
        fingerprint = settings_fingerprint(user_cols, loc_cols)
        if not force and last_versions(conn, tenant_id) == {k: (f.sha256, fingerprint) for k, f in files.items()}:
            return result  # the same bytes under the same mapping as last time: nothing to do
        checked = check_files(config.master_data, files, reps_by_branch(conn, tenant_id), progress)
        report = result.report = checked.report
        result.ignored_columns = checked.ignored_columns
        users, locations = checked.users, checked.locations
        if report.problems:
            raise MasterDataInvalid(report)
        _say(progress, "replacing customers, branches and file reps in one transaction")
        # Keys and compared values, so a reordered file counts no change (source_row differs).
        shapes = {
            "users": (["user_id"], [c.name for c in user_cols]),
            "locations": (["warehouse_code"], [c.name for c in loc_cols]),
            "sales_reps": (["branch_code", "rep_email"], ["rep_name", "role", "enabled"]),
        }
        before = {t: _snapshot(conn, t, *shape) for t, shape in shapes.items()}
        conn.execute(sa.text("DELETE FROM tenant_data.users WHERE tenant_id = :tenant"), {"tenant": tenant_id})
        conn.execute(sa.text("DELETE FROM tenant_data.locations WHERE tenant_id = :tenant"), {"tenant": tenant_id})
        result.rows["locations"] = _insert(conn, "locations", tenant_id, locations, [c.name for c in loc_cols])
        result.rows["users"] = _insert(conn, "users", tenant_id, users, [c.name for c in user_cols])
        result.reps_seeded = seed_reps(conn, tenant_id, locations)
        result.changes = {t: _changes(before[t], _snapshot(conn, t, *shape)) for t, shape in shapes.items()}
        for kind, f in files.items():
            conn.execute(
                sa.text(
                    "INSERT INTO tenant_data.master_data_files "
                    "(tenant_id, kind, file_name, mtime, size_bytes, sha256, settings_sha256, rows_loaded, warnings, "
                    "run_id) VALUES (:tenant, :k, :n, :m, :s, :h, :fp, :r, :w, :run)"
                ),
                {
                    "tenant": tenant_id,
                    "k": kind,
                    "n": f.name,
                    "m": f.mtime,
                    "s": f.size,
                    "h": f.sha256,
                    "fp": fingerprint,
                    "r": result.rows[kind],
                    "w": len(report.warnings) if kind == "users" else 0,
                    "run": run_id,
                },
            )
        result.changed = True
    from ga_intel.db.bulk import refresh_statistics

    refresh_statistics(tenant_id, {**result.rows, "sales_reps": result.reps_seeded})  # every day's tasks join these
    return result
