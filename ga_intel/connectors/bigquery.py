"""google-cloud-bigquery clients for a tenant's GA4 export, or for an emulator."""

from __future__ import annotations

import json
import re

from ga_intel.connectors import CheckResult
from ga_intel.errors import ServiceError
from ga_intel.tenancy.tenant_file import BigQuerySettings

DAILY_TABLE = re.compile(r"^events_(\d{8})$")
TIMEOUT_SECONDS = 15  # per request: a hung endpoint fails within this
# How long `check` keeps retrying transient failures (a refused connection is one): it
# answers a person waiting on "Test connection", where a blip is rarer than a wrong endpoint.
CHECK_RETRY_SECONDS = 5


def check_endpoint(settings: BigQuerySettings) -> None:
    """A tenant's api_endpoint must be a public address (connectors/targets.py). The
    Google client resolves the name itself, so this check cannot pin the address."""
    if not settings.api_endpoint:
        return
    from urllib.parse import urlsplit

    from ga_intel.connectors import targets

    url = urlsplit(settings.api_endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    targets.check_host("bigquery", url.hostname or "", port, field="api_endpoint")


def client(settings: BigQuerySettings):
    from google.cloud import bigquery

    check_endpoint(settings)
    options = {"api_endpoint": settings.api_endpoint} if settings.api_endpoint else None
    return bigquery.Client(
        project=settings.project_id,
        credentials=_credentials(settings),
        client_options=options,
        location=settings.location,
    )


def storage_client(settings: BigQuerySettings):
    """A BigQuery Storage Read API client with the tenant's credentials (Google's endpoint
    only: emulators do not serve it). ImportError when google-cloud-bigquery-storage is absent."""
    import importlib

    storage = importlib.import_module("google.cloud.bigquery_storage_v1")
    return storage.BigQueryReadClient(credentials=_credentials(settings))


def _credentials(settings: BigQuerySettings):
    if settings.service_account is None:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()
    from google.oauth2 import service_account

    try:
        return service_account.Credentials.from_service_account_info(
            json.loads(settings.service_account.get_secret_value())
        )
    except (ValueError, KeyError) as exc:
        # The library's message can quote the key; name only the problem.
        raise ServiceError(
            "bigquery",
            f"the service-account key cannot be used ({type(exc).__name__})",
            hint="store a fresh key from the GCP console with `ga-intel tenant update`",
        ) from None


def explain(exc: Exception, settings: BigQuerySettings) -> ServiceError:
    """A BigQuery/transport failure as a ServiceError a tenant admin can act on."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as aexc

    where = f"{settings.project_id}.{settings.dataset_id}"
    if isinstance(exc, gexc.NotFound):
        return ServiceError(
            "bigquery",
            f"dataset {where} not found",
            hint="check project_id and dataset_id (the GA4 export dataset is analytics_<property id>)",
        )
    if isinstance(exc, gexc.Forbidden):
        return ServiceError(
            "bigquery",
            f"permission denied on {where}",
            hint="grant the service account BigQuery Data Viewer on the dataset and Job User on the project",
        )
    if isinstance(exc, (gexc.Unauthorized, aexc.RefreshError, aexc.DefaultCredentialsError)):
        return ServiceError(
            "bigquery",
            "the service-account credentials were rejected (revoked, expired or wrong)",
            hint="create a new key for the service account and store it with `ga-intel tenant update`",
        )
    if (
        isinstance(
            exc, (gexc.RetryError, gexc.ServiceUnavailable, gexc.DeadlineExceeded, ConnectionError, TimeoutError)
        )
        or "Connection" in type(exc).__name__
        or "Timeout" in type(exc).__name__
    ):
        target = settings.api_endpoint or "bigquery.googleapis.com"
        return ServiceError(
            "bigquery",
            f"cannot reach {target}: {type(exc).__name__}",
            hint="check the network, or the api_endpoint setting",
            transient=True,
        )
    if isinstance(exc, (gexc.TooManyRequests, gexc.InternalServerError, gexc.BadGateway)):
        return ServiceError(
            "bigquery",
            f"BigQuery is overloaded or failing ({type(exc).__name__})",
            hint="retried automatically; see https://status.cloud.google.com if it persists",
            transient=True,
        )
    return ServiceError("bigquery", f"{type(exc).__name__}: {str(exc)[:300]}")


def daily_tables(bq, settings: BigQuerySettings, retry_seconds: float = TIMEOUT_SECONDS) -> list[str]:
    """The dates (YYYYMMDD) of the dataset's daily export tables, sorted."""
    from google.api_core.retry import Retry

    dataset = f"{settings.project_id}.{settings.dataset_id}"
    # list_tables of a missing dataset is not an error everywhere (the emulator returns
    # nothing); asking for the dataset first gives a clear "not found".
    bq.get_dataset(dataset, retry=Retry(timeout=retry_seconds), timeout=TIMEOUT_SECONDS)
    tables = bq.list_tables(dataset, retry=Retry(timeout=retry_seconds), timeout=TIMEOUT_SECONDS)
    return sorted(m.group(1) for t in tables if (m := DAILY_TABLE.match(t.table_id)))


def export_days(settings: BigQuerySettings) -> list[str]:
    """The export's days (YYYYMMDD), as `check` finds them; ServiceError when it cannot."""
    try:
        return daily_tables(client(settings), settings, retry_seconds=CHECK_RETRY_SECONDS)
    except ServiceError:
        raise
    except Exception as exc:
        raise explain(exc, settings) from None


def check(settings: BigQuerySettings) -> CheckResult:
    try:
        days = export_days(settings)
    except ServiceError as exc:
        return CheckResult("bigquery", False, str(exc))
    where = f"{settings.project_id}.{settings.dataset_id}"
    if not days:
        return CheckResult("bigquery", False, f"{where} is reachable but holds no events_YYYYMMDD tables yet")
    return CheckResult("bigquery", True, f"{where}: {len(days)} daily table(s), latest events_{days[-1]}")
