"""One logging setup for every ga-intel process: JSON lines in `$GA_INTEL_HOME/logs/`,
tenant and partition on every line where known, and never a secret.

- `setup(component)` configures the `ga_intel` logger: JSON lines into
  `$GA_INTEL_HOME/logs/ga-intel.log` (what `make logs` tails) and, for the CLI, a
  human-readable console. Idempotent.
- `log_context(tenant=..., partition=...)` sets the fields for everything logged inside
  it (contextvars, so threads and asyncio tasks keep their own). The Dagster assets
  enter it with their partition.
- `DagsterJsonHandler` is named in dagster.yaml (`python_logs.dagster_handler_config`),
  so Dagster's own run logs (`context.log`, step events) land in the same file, with the
  tenant and partition taken from the run's partition tags when no context is set.
- `RedactingFilter` masks, on every handler: every secret value a tenant config in this
  process holds (registered when a config is validated: `remember_config`), the
  encryption keys and database passwords from the environment, and anything shaped
  like a private key, a URL password or a `password=...` pair.

The file is opened in append mode by each process (the webserver, daemon, run workers
and CLI write to one file; each line is one `write`). Rotate it with `logrotate`'s
`copytruncate` or by moving it: `WatchedFileHandler` reopens a moved file.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import os
import re
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

LOGGER = "ga_intel"
LOG_FILE = "ga-intel.log"
MASK = "***"

# Dagster marks the dagster.yaml handler config beta and says so on every run.
warnings.filterwarnings("ignore", message="Handling yaml-defined logging configuration")

# Never mutated in place (every change sets a new dict), so one shared empty default is safe.
_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
    "ga_intel_log_context",
    default={},  # noqa: B039
)


def logger(name: str | None = None) -> logging.Logger:
    """A logger under `ga_intel` (so it gets the JSON file and the redaction)."""
    return logging.getLogger(f"{LOGGER}.{name}" if name else LOGGER)


# --- context ---------------------------------------------------------------------------


@contextlib.contextmanager
def log_context(**fields: str | None) -> Iterator[dict[str, str]]:
    """Add `fields` (tenant, partition, ...) to every log line inside the block."""
    merged = {**_context.get(), **{k: str(v) for k, v in fields.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield merged
    finally:
        try:
            _context.reset(token)
        except ValueError:  # exited in another context (a generator closed elsewhere)
            _context.set({k: v for k, v in _context.get().items() if k not in fields})


def current_context() -> dict[str, str]:
    return dict(_context.get())


# --- secrets ---------------------------------------------------------------------------

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_secrets_sorted: list[str] = []
_MIN_SECRET = 4  # shorter values would mask ordinary words

_PATTERNS = [
    # PEM blocks (private keys, in a service-account JSON or an SSH key), also with \n escaped.
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
        f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----",
    ),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^\"']*"), f"-----BEGIN PRIVATE KEY-----{MASK}"),
    # scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.\-]*://[^:/@\s]*:)[^@\s/]+@", re.I), rf"\1{MASK}@"),
    # password=..., "password": "...", secret: ..., token=...
    (
        re.compile(
            r"""(\b(?:password|passwd|passphrase|secret|token|private_key|api_key)\b["']?\s*[:=]\s*["']?)"""
            r"""([^\s"',;&}]+)""",
            re.I,
        ),
        rf"\1{MASK}",
    ),
]


def remember_secret(*values: str | None) -> None:
    """Mask these values in every log line this process writes from now on."""
    added = False
    with _secrets_lock:
        for value in values:
            if not isinstance(value, str):
                continue
            for text in {value, *(line.strip() for line in value.splitlines())}:
                if len(text) >= _MIN_SECRET and text not in _secrets:
                    _secrets.add(text)
                    added = True
        if added:
            global _secrets_sorted
            _secrets_sorted = sorted(_secrets, key=len, reverse=True)


def forget_secrets() -> None:
    """Empty the registry of tenant secrets (tests: prove that decrypting alone registers
    one). The process's own keys and database passwords stay registered."""
    global _secrets_sorted, _seen_environment
    with _secrets_lock:
        _secrets.clear()
        _secrets_sorted = []
    _seen_environment = ()  # the next redact() registers the environment's again


def _remember_text(text: str) -> None:
    remember_secret(text)
    try:
        parsed = json.loads(text)
    except ValueError:
        return
    if isinstance(parsed, dict):  # a service-account JSON: libraries quote its key, not the JSON
        remember_secret(
            *(v for k, v in parsed.items() if k in ("private_key", "private_key_id") and isinstance(v, str))
        )


def remember_values(values: dict) -> dict:
    """Register the string values of a decrypted (or about to be encrypted) secrets
    section; returns `values` unchanged. `crypto` calls this, so every stored secret a
    process has seen is masked in its logs."""
    if isinstance(values, dict):
        for value in values.values():
            if isinstance(value, str):
                _remember_text(value)
    return values


def remember_config(config) -> None:
    """Register every secret of a tenant config (pydantic `SecretStr` fields)."""
    from pydantic import BaseModel, SecretStr

    def walk(node) -> None:
        if isinstance(node, SecretStr):
            _remember_text(node.get_secret_value())
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name, None))
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(config)


_ENV_VARS = (
    "GA_INTEL_SECRET_KEY",
    "GA_INTEL_DATABASE_URL",
    "GA_INTEL_DAGSTER_DATABASE_URL",
    "GA_INTEL_DAGSTER_STORAGE_URL",
)
_seen_environment: tuple = ()


def _refresh_environment() -> None:
    """Register the environment's secrets again if it changed since the last look (a key
    set after logging started is still masked)."""
    global _seen_environment
    current = tuple(os.environ.get(v) for v in _ENV_VARS)
    if current != _seen_environment:
        _seen_environment = current
        _remember_environment()


def _remember_environment() -> None:
    """The Fernet keys and the database passwords this process was given."""
    from sqlalchemy.engine import make_url

    raw = os.environ.get("GA_INTEL_SECRET_KEY")
    if raw:
        remember_secret(*(k.strip() for k in raw.split(",")))
    for var in ("GA_INTEL_DATABASE_URL", "GA_INTEL_DAGSTER_DATABASE_URL", "GA_INTEL_DAGSTER_STORAGE_URL"):
        value = os.environ.get(var)
        if value:
            try:
                remember_secret(make_url(value).password)
            except Exception:
                pass


def redact(text: str) -> str:
    """`text` with every known secret and secret-shaped value masked."""
    if not text:
        return text
    _refresh_environment()
    for secret in _secrets_sorted:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Render the message (so a `SecretStr` or a secret passed as an argument is caught
    too), then mask it; also the exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string still logs, unformatted
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # formatted above; never re-rendered unmasked
        return True


# --- formatting ------------------------------------------------------------------------

_component = os.environ.get("GA_INTEL_COMPONENT", "")


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _dagster_fields(record: logging.LogRecord) -> dict[str, str]:
    """Run id, step and partition from a Dagster log record, when it is one."""
    meta = getattr(record, "dagster_meta", None)
    if not isinstance(meta, dict):
        return {}
    tags = meta.get("job_tags") or {}
    out = {"run_id": meta.get("run_id"), "job": meta.get("job_name"), "step": meta.get("step_key")}
    partition = tags.get("dagster/partition")
    if partition:
        out["partition"] = partition
    tenant = tags.get("dagster/partition/tenant")
    if not tenant and partition and "|" not in partition and not _DATE.match(partition):
        tenant = partition  # tenant-only partitions (master data): the key is the tenant
    if tenant:
        out["tenant"] = tenant
    event = meta.get("dagster_event")
    if event is not None:
        out["event"] = getattr(event, "event_type_value", None)
    if meta.get("orig_message"):
        out["_message"] = meta["orig_message"]
    return {k: v for k, v in out.items() if v}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, component, tenant, partition, message
    (+ run_id/step/event for Dagster records, exc for exceptions)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _dagster_fields(record)
        message = fields.pop("_message", None)
        message = redact(message) if message else record.getMessage()
        line = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "component": _component or None,
            "pid": record.process,
            **fields,
            **{k: v for k, v in getattr(record, "ga_intel_context", {}).items()},
            "message": message,
        }
        if record.exc_text:
            line["exc"] = record.exc_text
        return json.dumps({k: v for k, v in line.items() if v not in (None, "")}, default=str)


class ContextFilter(logging.Filter):
    """Attach the current `log_context` fields to the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.ga_intel_context = current_context()
        return True


class ConsoleFormatter(logging.Formatter):
    """Human-readable lines for a terminal: `LEVEL [tenant partition] message`."""

    def format(self, record: logging.LogRecord) -> str:
        ctx = getattr(record, "ga_intel_context", {})
        where = " ".join(v for v in (ctx.get("tenant"), ctx.get("partition")) if v)
        prefix = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        text = f"{prefix}{f'[{where}] ' if where else ''}{record.getMessage()}"
        if record.exc_text:
            text += "\n" + record.exc_text
        return text


# --- handlers --------------------------------------------------------------------------


def log_dir() -> Path:
    from ga_intel import settings

    path = settings.home() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


_file_handlers: dict[Path, logging.Handler] = {}
_file_lock = threading.Lock()


def _shared_file_handler() -> logging.Handler:
    """One WatchedFileHandler per log path and process, shared by every handler object
    that writes there (Dagster builds a new handler per run from dagster.yaml)."""
    path = log_dir() / LOG_FILE
    with _file_lock:
        handler = _file_handlers.get(path)
        if handler is None:
            from logging.handlers import WatchedFileHandler

            handler = WatchedFileHandler(path, encoding="utf-8", delay=True)
            handler.setFormatter(JsonFormatter())
            _file_handlers[path] = handler
        return handler


def _install_filters(handler: logging.Handler) -> logging.Handler:
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter())
    return handler


class JsonFileHandler(logging.Handler):
    """JSON lines into `$GA_INTEL_HOME/logs/ga-intel.log`, redacted."""

    def __init__(self, level: int = logging.NOTSET):
        super().__init__(level)
        _install_filters(self)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            _shared_file_handler().handle(record)
        except Exception:
            self.handleError(record)

    def close(self) -> None:  # the shared file stays open for the other handlers
        super().close()


class DagsterJsonHandler(JsonFileHandler):
    """The handler dagster.yaml attaches to Dagster's run loggers."""

    def emit(self, record: logging.LogRecord) -> None:
        # Dagster hands every instance handler the same record; work on a copy.
        copy = logging.makeLogRecord(record.__dict__)
        for f in self.filters:
            f.filter(copy)
        super().emit(copy)

    def filter(self, record: logging.LogRecord) -> bool:  # filters run in emit, on the copy
        return True


_configured: set[str] = set()


def setup(component: str, console: bool = False, level: int = logging.INFO) -> logging.Logger:
    """Configure the `ga_intel` logger for this process (once): the JSON file, and a
    human-readable console on stderr when `console`."""
    global _component
    _component = component
    os.environ.setdefault("GA_INTEL_COMPONENT", component)
    root = logging.getLogger(LOGGER)
    root.setLevel(level)
    if "file" not in _configured:
        root.addHandler(JsonFileHandler())
        _configured.add("file")
    if console and "console" not in _configured:
        stream = logging.StreamHandler()
        stream.setFormatter(ConsoleFormatter())
        root.addHandler(_install_filters(stream))
        _configured.add("console")
    root.propagate = False
    return root
