"""`ga-intel tenant move`: take a tenant's data to another database (issue 19).

The control plane's journal (`control.tenant_moves`) makes every step safe to interrupt
(even `kill -9`) and resumable with `--resume`; nothing is deleted before the switch to
the new copy is committed:

1. check: not where the tenant already is, no other move unfinished, the target
   reachable and migrated (`migrate.upgrade_location`);
2. journal the move (state `copying`) and commit: from then on `tenant_scope` refuses
   the tenant (readers and writers), and we wait out, on the source database, every
   transaction that began before (`placement.wait_out_writers`);
3. copy, in ONE transaction on the target bound to the tenant by row-level security:
   delete whatever an earlier attempt left there, stream every tenant table across
   (COPY out of the source, COPY into a temporary table on the target, INSERT from it:
   COPY FROM refuses tables under row-level security), replace what the roll-up and
   webhook triggers made on the target with the source's own rows, and verify every
   table (rows and a checksum of their content) before commit;
4. switch, in one control transaction: the tenant's `postgres` section now names the
   target (or is gone, for the platform), and the journal says `switched`;
5. delete the tenant's rows at the source, then the journal row. A resume in state
   `switched` does only this.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ga_intel import crypto
from ga_intel.db import control, migrate, placement, rls
from ga_intel.errors import GaIntelError
from ga_intel.tenancy import store
from ga_intel.tenancy.tenant_file import PostgresSettings

# TEST HOOK, for the crash tests only (ga_intel_tests/test_tenant_move.py): makes the
# process die like `kill -9` (os._exit(137), no cleanup, no rollback sent) at the named
# point, so a test can prove that point is safe and resumable. Never set it in production.
CRASH_ENV = "GA_INTEL_MOVE_CRASH_AT"
CRASH_POINTS = ("journaled", "copied-half", "copied", "switched", "deleted-half")

# Tables the triggers of migrations 0008, 0011 and 0014 write when their base tables are
# written (roll-ups of tasks and search terms; the webhook outbox on task inserts and
# status changes). They are copied last: what the triggers made on the target while the
# base rows went in is deleted, and the source's rows go in as they are.
DERIVED = ("tasks_monthly", "cart_tasks_by_day", "search_terms_rollup", "webhook_deliveries")
DERIVED_PREFIXES = ("cart_items_",)
SPOOL_BYTES = 64 * 1024 * 1024  # rows beyond this per table go to a temporary file


def _crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:  # TEST HOOK (see CRASH_ENV)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(137)


def is_derived(table: str) -> bool:
    return table in DERIVED or table.startswith(DERIVED_PREFIXES)


@dataclass
class MoveResult:
    tenant_id: str
    source: str
    target: str
    copied: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    resumed_from: str | None = None
    seconds: float = 0.0


# --- the journal ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Journal:
    state: str
    target: PostgresSettings | None
    copied: dict


def _read_journal(conn: Connection, tenant_id: str) -> _Journal | None:
    row = (
        conn.execute(
            sa.text(
                "SELECT target_config, target_secrets, state, copied FROM control.tenant_moves WHERE tenant_id = :t"
            ),
            {"t": tenant_id},
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    target = None
    if row["target_config"] is not None:
        values = dict(row["target_config"])
        if row["target_secrets"]:
            values.update(
                crypto.keyring().decrypt(row["target_secrets"], f"tenant {tenant_id!r}'s move target secrets")
            )
        target = PostgresSettings.model_validate(values)
    return _Journal(row["state"], target, dict(row["copied"] or {}))


def _label(pg: PostgresSettings | None) -> str:
    return placement.location_from_section(pg).label


def _describe(pg: PostgresSettings | None) -> str:
    return "the platform database" if pg is None else f"tenant database {_label(pg)}"


def _section_now(conn: Connection, tenant_id: str) -> PostgresSettings | None:
    """The tenant's `postgres` section as the control plane holds it now (None: the platform)."""
    return store.section(tenant_id, "postgres", conn)


# --- the command --------------------------------------------------------------------------

_NO_TARGET = object()


def move(
    tenant_id: str,
    target: PostgresSettings | None | object = _NO_TARGET,
    resume: bool = False,
    progress: Callable[[str], None] = lambda message: None,
) -> MoveResult:
    """Move `tenant_id`'s data to `target` (a `postgres` section; None: the platform
    database), or, with `resume` and no target, finish the journaled move."""
    started = time.monotonic()
    if target is _NO_TARGET and not resume:
        raise GaIntelError(
            "say where to move the tenant", hint="--to-postgres FILE, --to-platform, or --resume for a journaled move"
        )
    with _exclusive(tenant_id):
        with control() as conn:
            store._verify_key(conn)
            if not conn.execute(
                sa.text("SELECT 1 FROM control.tenants WHERE tenant_id = :t"), {"t": tenant_id}
            ).scalar():
                raise store.TenantNotFound(tenant_id)
            journal = _read_journal(conn, tenant_id)
            current = _section_now(conn, tenant_id)
        if journal is None:
            if resume and target is _NO_TARGET:
                raise GaIntelError(
                    f"tenant {tenant_id!r} has no unfinished move to resume; its data is in {_describe(current)}",
                    hint=f"start one with `ga-intel tenant move {tenant_id} --to-postgres FILE` or `--to-platform`",
                )
            if placement.same_database(
                placement.location_from_section(current), placement.location_from_section(target)
            ):
                raise GaIntelError(
                    f"tenant {tenant_id!r}'s data is already in {_describe(target)}; nothing to move",
                    hint="name another database in FILE's postgres section (host, port or database), or --to-platform",
                )
            _refuse_same_database(tenant_id, current, target)
            result = MoveResult(tenant_id, _describe(current), _describe(target))
            _prepare_target(tenant_id, target, progress)
            _journal(tenant_id, target, progress)
            journal = _Journal("copying", target, {})
        else:
            if target is not _NO_TARGET and _label(target) != _label(journal.target):
                raise GaIntelError(
                    f"tenant {tenant_id!r} has an unfinished move to {_describe(journal.target)} "
                    f"(state {journal.state}); it cannot start another one to {_describe(target)}",
                    hint=f"finish it first with `ga-intel tenant move {tenant_id} --resume`, then move again",
                )
            source = _describe(current) if journal.state == "copying" else _describe(_source_of(journal))
            result = MoveResult(tenant_id, source, _describe(journal.target), resumed_from=journal.state)
            progress(f"resuming the move of tenant {tenant_id!r} to {result.target} (state {journal.state})")
        if journal.state == "copying":
            if result.resumed_from:
                _prepare_target(tenant_id, journal.target, progress)
            source_loc = placement.location_from_section(current)
            progress(f"waiting for transactions of {tenant_id!r} that began before the move to end ...")
            with placement.begin_at(source_loc, tenant_id) as conn:
                placement.wait_out_writers(conn, tenant_id)
            result.copied = _copy(tenant_id, source_loc, placement.location_from_section(journal.target), progress)
            _crash_point("copied")
            _switch(tenant_id, journal.target, current, result.copied)
            progress(f"switched: tenant {tenant_id!r}'s data is now read and written in {result.target}")
            _crash_point("switched")
            source_section = current
        else:
            result.copied = dict(journal.copied.get("tables", {}))
            source_section = _source_of(journal)
        result.deleted = _delete_source(tenant_id, placement.location_from_section(source_section), progress)
        with control() as conn:
            conn.execute(sa.text("DELETE FROM control.tenant_moves WHERE tenant_id = :t"), {"t": tenant_id})
    placement.forget()
    result.seconds = time.monotonic() - started
    return result


def _exclusive(tenant_id: str):
    """One `tenant move` per tenant at a time: a session lock on the platform database,
    released when the command ends or dies."""
    from ga_intel.db.locks import session_lock

    return session_lock(
        f"ga-intel:tenant-move:{tenant_id}",
        GaIntelError(
            f"another `ga-intel tenant move {tenant_id}` is running",
            hint="wait for it to finish; if it was killed, its lock is gone and --resume continues its move",
        ),
    )


def _source_of(journal: _Journal) -> PostgresSettings | None:
    """Where the rows came from, as the switch recorded it (no secret: the runtime login
    deletes there, with the deployment's own password)."""
    source = journal.copied.get("source")
    return None if source is None else PostgresSettings.model_validate(source)


# --- step 1: the target ---------------------------------------------------------------------


def _refuse_same_database(tenant_id: str, current: PostgresSettings | None, target: PostgresSettings | None) -> None:
    """Refuse a target that is the source under another name (`localhost` for
    `127.0.0.1`, a DNS alias, the platform database by its address): the copy would
    replace the rows with themselves and the delete of the "old" copy would then remove
    them all. Labels are only spellings; the probe is the database itself: a session
    advisory lock with a random key taken at the source is held at the target too
    exactly when both are one database (advisory locks are per database)."""
    import secrets as pysecrets

    key = pysecrets.randbits(62)
    with placement.begin_at(placement.location_from_section(current), tenant_id) as src:
        src.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            same = _lock_taken(target, key)
        finally:
            src.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    if same:
        raise GaIntelError(
            f"tenant {tenant_id!r}'s data is already in {_describe(current)}, which is the database "
            f"{_describe(target)} names (another spelling of the same server and database); nothing was moved",
            hint="name another database in FILE's postgres section, or --to-platform",
        )


def _lock_taken(target: PostgresSettings | None, key: int) -> bool:
    if target is None:
        from ga_intel.db import engine as runtime_engine

        eng, dispose = runtime_engine(), False
    else:
        store._check_target("the move's target", "postgres", target)  # the network guard first
        eng, dispose = sa.create_engine(placement.owner_url(target), poolclass=sa.pool.NullPool), True
    try:
        with eng.connect() as conn:
            free = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            if free:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            return not free
    except sa.exc.OperationalError:
        return False  # not there yet (or not reachable): not the database the source is connected to
    finally:
        if dispose:
            eng.dispose()


def _prepare_target(tenant_id: str, target: PostgresSettings | None, progress) -> None:
    if target is None:
        return  # the platform database: `needs_database` brought it to head
    store._check_target("the move's target", "postgres", target)
    loc = placement.location_from_section(target)
    progress(f"migrating the target database {loc.label} ...")
    before, after = migrate.upgrade_location(loc)
    progress(f"target database {loc.label}: {before or '(empty)'} -> {after}")
    placement.engine_for(tenant_id, loc)  # reachable as the runtime login, schema at head


# --- step 2: the journal ----------------------------------------------------------------------


def _journal(tenant_id: str, target: PostgresSettings | None, progress) -> None:
    public, token = None, None
    if target is not None:
        public, hidden = store._split("postgres", target)
        token = crypto.keyring().encrypt(hidden) if hidden else None
    with control() as conn:
        inserted = conn.execute(
            sa.text(
                "INSERT INTO control.tenant_moves (tenant_id, target_config, target_secrets, state) "
                "VALUES (:t, CAST(:c AS jsonb), :x, 'copying') ON CONFLICT (tenant_id) DO NOTHING RETURNING 1"
            ),
            {"t": tenant_id, "c": None if public is None else json.dumps(public, sort_keys=True), "x": token},
        ).scalar()
    if not inserted:
        raise GaIntelError(
            f"tenant {tenant_id!r} has an unfinished move already", hint=f"`ga-intel tenant move {tenant_id} --resume`"
        )
    progress(f"journaled: tenant {tenant_id!r} is refused to readers and writers until the move finishes")
    _crash_point("journaled")


# --- step 3: the copy -------------------------------------------------------------------------


def _columns(conn: Connection, table: str) -> list[str]:
    """The columns a copy writes: all but generated ones, in the target's order. An
    identity or serial column would need its sequence moved too: refused until then."""
    rows = conn.execute(
        sa.text(
            "SELECT a.attname, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid) AS dflt "
            "FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
        ),
        {"t": f'{rls.TENANT_SCHEMA}."{table}"'},
    ).all()
    for name, identity, _generated, default in rows:
        if identity or (default or "").startswith("nextval("):
            raise GaIntelError(
                f"tenant_data.{table}.{name} takes its values from a sequence, which `tenant move` does not carry over",
                hint="teach ga_intel/tenancy/move.py to set the target's sequence past the copied values; nothing was moved",
            )
    return [name for name, _i, generated, _d in rows if not generated]


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


def _fingerprint(conn: Connection, table: str, columns: list[str]) -> tuple[int, str]:
    """Rows and a checksum of their content, independent of order and column layout."""
    count, digest = conn.execute(
        sa.text(
            f"SELECT count(*), coalesce(sum(hashtextextended(ROW({_quoted(columns)})::text, 0)::numeric), 0)::text "
            f'FROM {rls.TENANT_SCHEMA}."{table}"'
        )
    ).one()
    return count, digest


def _same_text_formats(conn: Connection) -> None:
    # COPY's text form of dates and timestamps follows these settings; the two ends (and
    # the checksums) must read and write them alike.
    conn.execute(sa.text("SET LOCAL TimeZone = 'UTC'"))
    conn.execute(sa.text("SET LOCAL DateStyle = 'ISO, MDY'"))
    conn.execute(sa.text("SET LOCAL IntervalStyle = 'postgres'"))
    conn.execute(sa.text("SET LOCAL extra_float_digits = 3"))


def _raw(conn: Connection):
    return conn.connection.dbapi_connection


def _stream(src: Connection, dst: Connection, table: str, columns: list[str]) -> None:
    cols = _quoted(columns)
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b") as spool:
        with _raw(src).cursor() as cur:
            cur.copy_expert(f'COPY (SELECT {cols} FROM {rls.TENANT_SCHEMA}."{table}") TO STDOUT', spool)
        spool.seek(0)
        dst.execute(
            sa.text(f'CREATE TEMP TABLE ga_intel_move_rows (LIKE {rls.TENANT_SCHEMA}."{table}") ON COMMIT DROP')
        )
        with _raw(dst).cursor() as cur:
            cur.copy_expert(f"COPY ga_intel_move_rows ({cols}) FROM STDIN", spool)
        dst.execute(
            sa.text(f'INSERT INTO {rls.TENANT_SCHEMA}."{table}" ({cols}) SELECT {cols} FROM ga_intel_move_rows')
        )
        dst.execute(sa.text("DROP TABLE ga_intel_move_rows"))


def _copy(tenant_id: str, source: placement.Location, target: placement.Location, progress) -> dict[str, int]:
    with placement.begin_at(target, tenant_id) as dst, placement.begin_at(source, tenant_id) as src:
        for conn in (dst, src):
            _same_text_formats(conn)
        tables = store.tenant_tables(dst)
        missing = sorted(set(store.tenant_tables(src)) - set(tables))
        if missing:
            raise GaIntelError(
                f"the target database {target.label} lacks tenant table(s) {', '.join(missing)}",
                hint="run `ga-intel db upgrade` so both databases are at the same schema revision, then --resume",
            )
        base = [t for t in tables if not is_derived(t)]
        derived = [t for t in tables if is_derived(t)]
        columns = {t: _columns(dst, t) for t in tables}
        cleared = store._delete_tenant_rows(dst, tenant_id, base + derived)  # a resumed copy starts clean
        if any(cleared.values()):
            progress(f"cleared {sum(cleared.values())} row(s) an earlier attempt left in {target.label}")
        progress(f"copying {len(tables)} tables from {source.label} to {target.label} in one transaction ...")
        copied: dict[str, int] = {}
        expected: dict[str, tuple[int, str]] = {}
        for i, table in enumerate(base + derived, 1):
            if table in derived:
                # What the triggers made while the base rows went in gives way to the source's rows.
                dst.execute(
                    sa.text(f'DELETE FROM {rls.TENANT_SCHEMA}."{table}" WHERE tenant_id = :t'), {"t": tenant_id}
                )
            try:
                with dst.begin_nested():
                    _stream(src, dst, table, columns[table])
            except sa.exc.IntegrityError as exc:
                raise GaIntelError(
                    f"copying tenant_data.{table} to {target.label} failed: {str(exc.orig).splitlines()[0]}; "
                    "nothing of the copy was kept",
                    hint=f"nothing was switched or deleted; the tenant stays refused. A table that a trigger fills "
                    f"must be in DERIVED (ga_intel/tenancy/move.py); then `ga-intel tenant move {tenant_id} --resume`",
                ) from None
            expected[table] = _fingerprint(src, table, columns[table])
            copied[table] = expected[table][0]
            progress(f"  [{i}/{len(tables)}] {table}: {copied[table]} row(s)")
            if i == len(base) // 2:
                _crash_point("copied-half")
        progress("verifying every table (rows and checksum) ...")
        wrong = []
        for table in tables:
            here, there = expected[table], _fingerprint(dst, table, columns[table])
            if here != there:
                wrong.append(f"{table} ({here[0]} row(s) at the source, {there[0]} on the target)")
        if wrong:
            raise GaIntelError(
                f"the copy to {target.label} differs from the source in {', '.join(wrong)}; it was not kept",
                hint=f"nothing was switched or deleted; the tenant stays refused: `ga-intel tenant move {tenant_id} "
                "--resume` copies again (a table that a trigger writes may need adding to DERIVED in "
                "ga_intel/tenancy/move.py)",
            )
    with control() as conn:
        conn.execute(
            sa.text(
                "UPDATE control.tenant_moves SET copied = CAST(:c AS jsonb), updated_at = now() WHERE tenant_id = :t"
            ),
            {"t": tenant_id, "c": json.dumps({"tables": copied})},
        )
    progress(f"copied and verified {sum(copied.values())} row(s) in {len(copied)} tables")
    return copied


# --- step 4: the switch -----------------------------------------------------------------------


def _switch(tenant_id: str, target: PostgresSettings | None, source: PostgresSettings | None, copied: dict) -> None:
    recorded = None
    if source is not None:
        recorded, _hidden = store._split("postgres", source)  # the place only, never its password
    with control() as conn:
        store.set_placement(conn, tenant_id, target)
        done = conn.execute(
            sa.text(
                "UPDATE control.tenant_moves SET state = 'switched', copied = CAST(:c AS jsonb), updated_at = now() "
                "WHERE tenant_id = :t AND state = 'copying' RETURNING 1"
            ),
            {"t": tenant_id, "c": json.dumps({"tables": copied, "source": recorded}, sort_keys=True)},
        ).scalar()
        if not done:
            raise GaIntelError(
                f"tenant {tenant_id!r}'s move journal changed under this command; nothing was switched",
                hint=f"look at it with `ga-intel tenant move {tenant_id} --resume`",
            )


# --- step 5: the old copy -------------------------------------------------------------------


def _delete_source(tenant_id: str, source: placement.Location, progress) -> dict[str, int]:
    progress(f"deleting tenant {tenant_id!r}'s old copy in {source.label} ...")
    deleted: dict[str, int] = {}
    with placement.begin_at(source, tenant_id) as conn:
        tables = store.tenant_tables(conn)
        for i, table in enumerate(tables, 1):
            deleted.update(store._delete_tenant_rows(conn, tenant_id, [table]))
            if i == len(tables) // 2:
                _crash_point("deleted-half")
    progress(f"deleted {sum(deleted.values())} row(s) in {source.label}")
    return deleted
