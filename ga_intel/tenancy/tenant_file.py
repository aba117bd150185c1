"""The tenant file: schema, `${ENV}` resolution and validation.

One model serves the YAML file, the settings stored in the database and the dashboard's
settings form, so a value is validated the same way wherever it comes from. Secret
fields are typed `SecretStr`: they never show in a repr, an error message or a log, and
`store` encrypts exactly these fields.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ga_intel.errors import TenantFileError

TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,62}$"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_FILE_NAME = re.compile(r"^[^/\\]+$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# The platform's own variables: a tenant file must not copy them into a field a tenant
# admin can read (the name, a template, ...). Tenant secrets come from other names.
_PLATFORM_ENV = re.compile(r"^(GA_INTEL_|DAGSTER_|PG[A-Z]+$)|(^|_)DATABASE_URL$")
_DATABASE_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s]*@", re.I)  # scheme://user[:password]@host
# GCP project ids: 6-30 characters, lowercase letters, digits and hyphens, starting with
# a letter; legacy domain-scoped ids carry an "example.com:" prefix.
GCP_PROJECT_PATTERN = r"^(?:[a-z][a-z0-9.-]{0,62}[a-z0-9]:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$"
HOST_KEY_TYPES = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, validate_assignment=True)


def _checks_paths(info: ValidationInfo) -> bool:
    """Files named in a tenant file are read at `tenant add`; stored settings never re-check them."""
    return bool(info.context and info.context.get("check_paths"))


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


class BigQuerySettings(_Section):
    project_id: str = Field(min_length=1, description="the GCP project id, e.g. 'acme-analytics'")
    dataset_id: str = Field(pattern=r"^[A-Za-z0-9_]{1,1024}$")
    service_account: SecretStr | None = None
    service_account_file: str | None = Field(default=None, exclude=True)
    api_endpoint: str | None = Field(default=None, pattern=r"^https?://\S+$")
    location: str | None = None

    @field_validator("project_id")
    @classmethod
    def _project(cls, value: str) -> str:
        # It becomes part of request URLs and SQL identifiers: only GCP's own form passes.
        if not re.match(GCP_PROJECT_PATTERN, value):
            raise ValueError(
                "not a GCP project id: 6-30 lowercase letters, digits and hyphens, starting with a "
                "letter and not ending with a hyphen (e.g. 'acme-analytics')"
            )
        return value

    @model_validator(mode="after")
    def _credentials(self, info: ValidationInfo) -> BigQuerySettings:
        if self.service_account_file:
            if self.service_account:
                raise ValueError("give service_account or service_account_file, not both")
            path = Path(self.service_account_file).expanduser()
            if not path.is_file():
                raise ValueError(f"service_account_file {str(path)!r} does not exist")
            # Write through __dict__: assignment would re-run this validator (validate_assignment).
            self.__dict__.update(service_account=SecretStr(path.read_text()), service_account_file=None)
        if self.service_account is None:
            if not self.api_endpoint:
                raise ValueError(
                    "service_account (JSON) or service_account_file is required "
                    "(only an api_endpoint emulator may run without credentials)"
                )
            return self
        try:
            info_json = json.loads(self.service_account.get_secret_value())
        except json.JSONDecodeError:
            raise ValueError("service_account is not JSON (expected a service-account key file's content)") from None
        if not isinstance(info_json, dict) or info_json.get("type") != "service_account":
            raise ValueError('service_account JSON is not a service-account key ("type": "service_account")')
        missing = [k for k in ("client_email", "private_key", "token_uri") if not info_json.get(k)]
        if missing:
            raise ValueError(f"service_account JSON lacks {', '.join(missing)}")
        return self


class PostgresSettings(_Section):
    host: str = Field(min_length=1)
    port: int = Field(default=5432, ge=1, le=65535)
    # ga-intel may create it (CREATE DATABASE takes no parameters): a plain name only.
    database: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z_][A-Za-z0-9_$-]*$")
    username: str = Field(min_length=1)
    password: SecretStr | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"


class SftpSettings(_Section):
    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    password: SecretStr | None = None
    private_key: SecretStr | None = None
    private_key_file: str | None = Field(default=None, exclude=True)
    private_key_passphrase: SecretStr | None = None
    host_key: str = Field(min_length=1, description="the server's public host key, e.g. 'ssh-ed25519 AAAA...'")
    remote_path: str = "/"
    user_file: str = Field(default="UserReport.xlsx", pattern=_FILE_NAME.pattern)
    locations_file: str = Field(default="Locations_List.xlsx", pattern=_FILE_NAME.pattern)
    timeout_seconds: float = Field(default=30, gt=0, le=600)

    @field_validator("host_key")
    @classmethod
    def _host_key(cls, value: str) -> str:
        parts = value.split()
        # Accept a known_hosts line ("host keytype base64") as well as "keytype base64".
        if len(parts) >= 3 and parts[1] in HOST_KEY_TYPES:
            parts = parts[1:]
        if len(parts) < 2 or parts[0] not in HOST_KEY_TYPES:
            raise ValueError(f"expected '<key type> <base64 key>' with a type among {sorted(HOST_KEY_TYPES)}")
        try:
            blob = base64.b64decode(parts[1], validate=True)
        except ValueError:
            raise ValueError("the key part is not valid base64") from None
        if parts[0].encode() not in blob[:64]:
            raise ValueError("the key data does not match its key type")
        return f"{parts[0]} {parts[1]}"

    @field_validator("remote_path")
    @classmethod
    def _remote_path(cls, value: str) -> str:
        if not value.startswith("/") or ".." in value.split("/"):
            raise ValueError("must be an absolute path without '..'")
        return value.rstrip("/") or "/"

    @model_validator(mode="after")
    def _auth(self) -> SftpSettings:
        if self.private_key_file:
            if self.private_key:
                raise ValueError("give private_key or private_key_file, not both")
            path = Path(self.private_key_file).expanduser()
            if not path.is_file():
                raise ValueError(f"private_key_file {str(path)!r} does not exist")
            self.__dict__.update(private_key=SecretStr(path.read_text()), private_key_file=None)
        if not self.password and not self.private_key:
            raise ValueError("password or private_key (or private_key_file) is required")
        if self.private_key and "PRIVATE KEY" not in self.private_key.get_secret_value():
            raise ValueError("private_key is not a PEM/OpenSSH private key")
        return self


class FolderSettings(_Section):
    """A folder on the platform's host, inside `<GA_INTEL_FOLDER_ROOT>/<tenant id>`
    (see tenancy/folders.py). Only the operator sets `path`."""

    path: str | None = Field(
        default=None,
        description="inside the tenant's drop folder; empty means the drop "
        "folder itself; set by the operator (`ga-intel tenant set-folder`)",
    )
    user_file: str = Field(default="UserReport.xlsx", pattern=_FILE_NAME.pattern)
    locations_file: str = Field(default="Locations_List.xlsx", pattern=_FILE_NAME.pattern)

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("a path cannot contain a NUL character")
        return value or None


class SmtpSettings(_Section):
    server: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    user_name: str | None = None
    password: SecretStr | None = None
    use_tls: bool = Field(default=True, description="STARTTLS, required unless explicitly disabled")
    use_ssl: bool = Field(default=False, description="implicit TLS (usually port 465)")
    tls_ca_file: str | None = Field(default=None, description="PEM bundle to trust instead of the system CAs")
    from_name: str = Field(min_length=1)
    from_address: str
    timeout_seconds: float = Field(default=30, gt=0, le=600)

    _from = field_validator("from_address")(classmethod(lambda cls, v: _email(v)))

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> SmtpSettings:
        if self.password and not self.user_name:
            raise ValueError("password is set but user_name is not")
        if self.use_ssl and self.use_tls:
            self.__dict__["use_tls"] = False  # implicit TLS already encrypts; STARTTLS would be refused
        if self.port == 465 and not self.use_ssl:
            raise ValueError("port 465 is implicit TLS: set use_ssl: true")
        if self.tls_ca_file and _checks_paths(info) and not Path(self.tls_ca_file).is_file():
            raise ValueError(f"tls_ca_file {self.tls_ca_file!r} does not exist")
        return self


class Ga4Settings(_Section):
    """Which GA4 fields identify customers, companies and branches, per tenant."""

    customer_key: str = "webuserid"
    customer_key_fallback: str | None = "user_id"
    company_key: str = "webcustomerid"
    branch_key: str = "default_branch_id"
    no_results_event: str | None = "no_search_results"
    no_results_param: str = "no_search_results_term"
    load_intraday: bool = Field(
        default=False,
        description="while a recent day's daily table is missing, load its "
        "events_intraday_ table instead, marked provisional (replaced once the daily lands)",
    )
    search_query_param: str = Field(
        default="q",
        pattern=r"^[A-Za-z0-9_\-]{1,64}$",  # literal in a regex
        description="the page URL's query parameter holding the search term, read when a "
        "search event has no search_term parameter",
    )
    reporting_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 code every figure is reported in; amounts in other "
        "currencies are converted with GA4's own *_in_usd values (docs/METRICS.md)",
    )


class RuleSettings(_Section):
    """Task rule windows and thresholds (defaults and meanings: docs/TASKS.md)."""

    cart_abandonment_hours: int = Field(default=24, ge=1, le=24 * 30)
    cart_cooldown_days: int = Field(default=7, ge=0, le=365)
    repeat_visitor_min_sessions: int = Field(default=3, ge=2, le=100)
    repeat_visitor_days: int = Field(default=7, ge=1, le=90)
    # Actionable horizons: how long a task is worth a rep's time. A task first computed
    # after its horizon is stored `stale` (history, never a work list); an open task
    # expires at it. Cart recovery counts from the end of the cart's window, the others
    # from the task's day.
    cart_recovery_horizon_days: int = Field(default=3, ge=0, le=90)
    purchase_followup_horizon_days: int = Field(default=7, ge=0, le=90)
    search_followup_horizon_days: int = Field(default=7, ge=0, le=90)
    repeat_visitor_horizon_days: int = Field(default=7, ge=0, le=90)
    recovery_window_days: int = Field(
        default=7, ge=1, le=90, description="days after a cart's window in which buying one of its items recovers it"
    )
    daily_list_cap: int = Field(
        default=25, ge=1, le=500, description="tasks per rep in the daily email and the dashboard's 'my list for today'"
    )

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: Any) -> Any:
        if isinstance(data, dict) and "task_expiry_days" in data:
            raise ValueError(
                "task_expiry_days was replaced by per-type horizons: set cart_recovery_horizon_days, "
                "purchase_followup_horizon_days, search_followup_horizon_days and "
                "repeat_visitor_horizon_days instead (docs/TASKS.md)"
            )
        return data

    def horizon_days(self, task_type: str) -> int:
        return getattr(self, f"{task_type}_horizon_days")


class EmailSettings(_Section):
    """The morning reports: when they go out, what waits for data, and the tenant's
    template overrides (see docs/EMAIL.md). Templates are test-rendered on validation,
    so a broken one is rejected when it is saved, never at send time."""

    enabled: bool = True
    send_hour: int = Field(default=7, ge=0, le=23, description="local hour (tenant timezone) to send")
    wait_for_complete_data: bool = Field(default=True, description="hold a report while its day's data is incomplete")
    incomplete_deadline_hour: int = Field(
        default=11, ge=0, le=23, description="local hour after which a held report goes out anyway"
    )
    send_incomplete_after_deadline: bool = Field(
        default=True,
        description="after the deadline: send with a 'data incomplete' note (true) or skip the day (false)",
    )
    max_report_age_days: int = Field(
        default=3, ge=0, le=3650, description="older report dates never send on their own (backfills)"
    )
    dashboard_url: str = Field(default="http://localhost:8501", pattern=r"^https?://\S+$")
    subject: str | None = Field(
        default=None, max_length=1000, description="Jinja subject, e.g. '{{ branch_name }}: {{ date }}'"
    )
    intro: str | None = Field(default=None, max_length=20_000)
    logo_url: str | None = Field(default=None, pattern=r"^https://\S+$")
    primary_color: str = Field(default="#1f4e79", pattern=r"^#[0-9a-fA-F]{6}$")
    branch_template: str | None = Field(
        default=None, max_length=200_000, description="a whole HTML template for branch reports"
    )
    summary_template: str | None = Field(
        default=None, max_length=200_000, description="a whole HTML template for the summary"
    )
    retry_attempts: int = Field(default=3, ge=1, le=10, description="tries per message on transient SMTP errors")
    retry_backoff_seconds: float = Field(default=2.0, ge=0, le=300)

    @model_validator(mode="before")
    @classmethod
    def _replaced(cls, data: Any) -> Any:
        if isinstance(data, dict) and "max_tasks_per_type" in data:
            raise ValueError(
                "max_tasks_per_type was replaced by rules.daily_list_cap (tasks per rep in the "
                "daily list; docs/TASKS.md)"
            )
        return data

    @model_validator(mode="after")
    def _templates(self, info: ValidationInfo) -> EmailSettings:
        if self.incomplete_deadline_hour < self.send_hour:
            raise ValueError("incomplete_deadline_hour must not be before send_hour")
        if info.context and not info.context.get("check_templates", True):
            return self  # reading stored settings: templates were checked when saved
        from ga_intel.email.render import check_overrides

        check_overrides(self)  # raises ValueError naming the template and the problem
        return self


class MasterDataSettings(_Section):
    """Header overrides for the master-data files: canonical column -> header in the file
    (see docs/MASTER_DATA.md for the canonical names and their default headers)."""

    user_columns: dict[str, str] = {}
    location_columns: dict[str, str] = {}

    @field_validator("user_columns", "location_columns")
    @classmethod
    def _known(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        from ga_intel.masterdata.columns import KINDS

        kind = "users" if info.field_name == "user_columns" else "locations"
        known = {c.name for c in KINDS[kind]}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown column(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        empty = sorted(k for k, v in value.items() if not str(v).strip())
        if empty:
            raise ValueError(f"empty header for {', '.join(empty)}")
        return {k: str(v).strip() for k, v in value.items()}


class Member(_Section):
    email: str
    role: Literal["admin", "manager", "rep"]
    branch: str | None = None

    _email = field_validator("email")(classmethod(lambda cls, v: _email(v)))


class TenantConfig(_Section):
    id: str = Field(pattern=TENANT_ID_PATTERN, description="lowercase letters, digits, '-' and '_'")
    name: str = Field(min_length=1)
    timezone: str
    bigquery: BigQuerySettings
    postgres: PostgresSettings | None = None
    sftp: SftpSettings | None = None
    folder: FolderSettings | None = None
    smtp: SmtpSettings
    ga4: Ga4Settings = Ga4Settings()
    rules: RuleSettings = RuleSettings()
    master_data: MasterDataSettings = MasterDataSettings()
    email: EmailSettings = Field(default_factory=EmailSettings)
    members: list[Member] = []

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r} (e.g. 'Europe/Berlin')") from None
        return value

    @model_validator(mode="after")
    def _one_master_data_source(self, info: ValidationInfo) -> TenantConfig:
        if bool(self.sftp) == bool(self.folder):
            raise ValueError("give exactly one master-data source: sftp or folder")
        if self.folder is not None and _checks_paths(info):
            from ga_intel.tenancy import folders

            try:
                path = folders.resolve(self.id, self.folder.path)
            except folders.FolderOutsideRoot as exc:
                raise ValueError(f"folder.path: {exc.message}; {exc.hint}") from None
            if not path.is_dir():
                raise ValueError(f"folder.path: folder {str(path)!r} does not exist (create it, or fix folder.path)")
        emails = [m.email for m in self.members]
        dupes = sorted({e for e in emails if emails.count(e) > 1})
        if dupes:
            raise ValueError(f"members lists {', '.join(dupes)} more than once")
        return self


SECTIONS: dict[str, type[_Section]] = {
    "bigquery": BigQuerySettings,
    "postgres": PostgresSettings,
    "sftp": SftpSettings,
    "folder": FolderSettings,
    "smtp": SmtpSettings,
    "ga4": Ga4Settings,
    "rules": RuleSettings,
    "master_data": MasterDataSettings,
    "email": EmailSettings,
}


def secret_fields(section: type[_Section]) -> list[str]:
    return [
        name
        for name, f in section.model_fields.items()
        if SecretStr in getattr(f.annotation, "__args__", (f.annotation,))
    ]


def _platform_keys() -> set[str]:
    """The platform's encryption keys, so that no variable holding one is copied."""
    from ga_intel import crypto
    from ga_intel.errors import GaIntelError

    try:
        keys, _ = crypto.load_keys(create=False)
    except GaIntelError:
        return set()
    return {k.decode() for k in keys}


def refused_env(name: str, value: str, platform_keys: set[str]) -> str | None:
    """Why `${name}` may not be used in a tenant file, or None."""
    if _PLATFORM_ENV.search(name):
        return f"${{{name}}} is a platform variable; a tenant file may not read it"
    if _DATABASE_URL.match(value.strip()):
        return f"${{{name}}} holds a URL with credentials; a tenant file may not read it"
    if any(key in value for key in platform_keys):
        return f"${{{name}}} holds the platform's encryption key; a tenant file may not read it"
    return None


def resolve_env(
    node: Any, path: str, problems: list[tuple[str, str]], env: dict[str, str], _keys: set[str] | None = None
) -> Any:
    """Replace `${NAME}` in every string; a missing or refused variable is a problem at that path."""
    keys = _platform_keys() if _keys is None else _keys
    if isinstance(node, dict):
        return {k: resolve_env(v, f"{path}.{k}" if path else str(k), problems, env, keys) for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_env(v, f"{path}[{i}]", problems, env, keys) for i, v in enumerate(node)]
    if isinstance(node, str):

        def sub(m: re.Match) -> str:
            if m.group(1) not in env:
                problems.append((path, f"environment variable {m.group(1)} is not set"))
                return ""
            refused = refused_env(m.group(1), env[m.group(1)], keys)
            if refused:
                problems.append((path, refused + " (use a variable of its own for the tenant's value)"))
                return ""
            return env[m.group(1)]

        return _ENV_REF.sub(sub, node)
    return node


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not str(part).startswith("function-"):
            out += f".{part}" if out else str(part)
    return out or "(file)"


def validate(
    data: Any, source: str, check_paths: bool = False, pre_problems=(), check_templates: bool = True
) -> TenantConfig:
    """Validate tenant data; raise `TenantFileError` listing every problem at once.
    `check_templates=False` (reading stored settings) skips the email templates' checks,
    which render them: a template renders when it is saved and when it is sent, never
    on read."""
    problems = list(pre_problems)
    if not isinstance(data, dict):
        raise TenantFileError(source, [("(file)", "expected a mapping of settings at the top level")])
    config = None
    try:
        config = TenantConfig.model_validate(
            data, context={"check_paths": check_paths, "check_templates": check_templates}
        )
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            msg = _error_message(err)
            path = _format_loc(err["loc"])
            # A section-level check that names its field ("subject: ...") reports at that field.
            named = re.match(r"^([a-z_]+): (.+)$", msg, re.S)
            if named and path in SECTIONS and named.group(1) in SECTIONS[path].model_fields:
                path, msg = f"{path}.{named.group(1)}", named.group(2)
            # A tenant-level check that names "section.field" reports there.
            dotted = re.match(r"^([a-z_]+)\.([a-z_]+): (.+)$", msg, re.S)
            if dotted and path == "(file)" and dotted.group(1) in SECTIONS:
                path, msg = f"{dotted.group(1)}.{dotted.group(2)}", dotted.group(3)
            problems.append((path, msg))
    if problems or config is None:
        # A missing env var also blanks a value, which the model then reports a second time.
        seen = {p for p, _ in pre_problems}
        problems = list(pre_problems) + [p for p in problems[len(pre_problems) :] if p[0] not in seen]
        raise TenantFileError(source, problems)
    return config


def problems_in(data: dict, fields: tuple[str, ...], source: str, check_paths: bool = False) -> list[tuple[str, str]]:
    """The problems `validate` finds at `fields` (top-level names: "id", "sftp", ...) of
    tenant data that may still lack other sections: the dashboard's setup checks one step
    at a time, with the same model and messages as the tenant file. The whole tenant is
    validated again, with `validate`, before it is stored."""
    try:
        validate(data, source, check_paths=check_paths, check_templates=False)
    except TenantFileError as exc:
        return [(path, msg) for path, msg in exc.problems if re.split(r"[.\[]", path, maxsplit=1)[0] in fields]
    return []


def _error_message(err: dict) -> str:
    """A pydantic error as the tenant file reports it."""
    if err["type"] == "extra_forbidden":
        return "unknown setting (check the spelling; see docs/TENANT_FILE.md)"
    return err["msg"].removeprefix("Value error, ")


def _read_yaml(path: Path, source: str):
    """The file's YAML, or a TenantFileError naming the file, or the line and column."""
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise TenantFileError(source, [("(file)", "file not found")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        raise TenantFileError(source, [(where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]) from None


def load_file(path: str | Path, env: dict[str, str] | None = None) -> TenantConfig:
    """Read, resolve and validate a tenant YAML file."""
    path = Path(path)
    source = str(path)
    raw = _read_yaml(path, source)
    problems: list[tuple[str, str]] = []
    if isinstance(raw, dict):
        raw = resolve_env(raw, "", problems, dict(os.environ if env is None else env))
    # Relative file references are relative to the tenant file, not the caller's cwd.
    if isinstance(raw, dict):
        # folder.path is not among them: it is relative to the tenant's drop folder.
        for section, key in (
            ("bigquery", "service_account_file"),
            ("sftp", "private_key_file"),
            ("smtp", "tls_ca_file"),
        ):
            value = (raw.get(section) or {}).get(key) if isinstance(raw.get(section), dict) else None
            if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
                raw[section][key] = str((path.parent / value).resolve())
    return validate(raw, source, check_paths=True, pre_problems=problems)


def load_postgres_section(path: str | Path, env: dict[str, str] | None = None) -> PostgresSettings:
    """The `postgres` mapping of a YAML file, resolved and validated as in a tenant file:
    what `ga-intel tenant move --to-postgres FILE` reads. Other top-level keys are ignored,
    so the tenant's own file with its new `postgres` section does as well as a file that
    holds only that section."""
    path = Path(path)
    source = str(path)
    raw = _read_yaml(path, source)
    if not isinstance(raw, dict) or not isinstance(raw.get("postgres"), dict):
        raise TenantFileError(
            source, [("postgres", "expected a top-level `postgres:` mapping (host, port, database, username, ...)")]
        )
    problems: list[tuple[str, str]] = []
    section = resolve_env(raw["postgres"], "postgres", problems, dict(os.environ if env is None else env))
    try:
        settings = PostgresSettings.model_validate(section)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            msg = _error_message(err)
            path_ = _format_loc(("postgres", *err["loc"]))
            if path_ not in {p for p, _ in problems}:
                problems.append((path_, msg))
        raise TenantFileError(source, problems) from None
    if problems:
        raise TenantFileError(source, problems)
    return settings
