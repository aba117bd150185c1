"""How query results come back (extract.read_path): the Storage Read API against Google's
endpoint, REST paging against an emulator, and REST with a warning when the storage
package is missing or the read session is refused.

The refusal is a real gRPC server answering CreateReadSession with PERMISSION_DENIED, in
front of real query results from the BigQuery emulator."""

from __future__ import annotations

import json
import logging
import sys
from concurrent import futures

import pytest

from ga_intel.connectors import bigquery as bq_connector
from ga_intel.ga4 import extract
from ga_intel.tenancy.tenant_file import BigQuerySettings


def _service_account() -> str:
    """A well-formed key (the storage client parses it; nothing here signs in with it)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return json.dumps(
        {
            "type": "service_account",
            "client_email": "ga@acme-ga.iam.gserviceaccount.com",
            "private_key": pem,
            "token_uri": "https://oauth2.googleapis.com/token",
            "project_id": "acme-ga",
        }
    )


@pytest.fixture(scope="module")
def google_settings():
    return BigQuerySettings(project_id="acme-ga", dataset_id="analytics_123", service_account=_service_account())


def test_google_endpoint_reads_through_the_storage_api(google_settings, monkeypatch):
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    from google.cloud import bigquery_storage_v1

    path = extract.read_path(google_settings)
    assert path.api == "storage"
    assert isinstance(path.storage_client, bigquery_storage_v1.BigQueryReadClient)
    explicit = google_settings.model_copy(update={"api_endpoint": "https://bigquery.googleapis.com"})
    assert extract.read_path(explicit).api == "storage"


def test_emulator_endpoint_pages_over_rest(google_settings, monkeypatch):
    emulator = BigQuerySettings(project_id="test-project", dataset_id="d", api_endpoint="http://127.0.0.1:9050")
    path = extract.read_path(emulator)
    assert (path.api, path.storage_client) == ("rest", None)
    assert "127.0.0.1" in path.reason
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", "localhost:9050")  # the client library's own switch
    assert extract.read_path(google_settings).api == "rest"


def test_missing_storage_package_pages_over_rest_with_a_warning(google_settings, monkeypatch, caplog):
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setitem(sys.modules, "google.cloud.bigquery_storage_v1", None)  # import fails as if absent
    with caplog.at_level(logging.WARNING, logger="ga_intel.ga4.extract"):
        path = extract.read_path(google_settings)
    assert path.api == "rest"
    assert "google-cloud-bigquery-storage" in path.reason
    assert "paging over REST" in caplog.text


@pytest.fixture
def refusing_storage_server():
    """A BigQuery Storage endpoint that refuses every read session."""
    import grpc

    calls = []

    def create_read_session(request, context):
        calls.append(request)
        context.abort(
            grpc.StatusCode.PERMISSION_DENIED, "The user does not have 'bigquery.readsessions.create' permission"
        )

    handler = grpc.method_handlers_generic_handler(
        "google.cloud.bigquery.storage.v1.BigQueryRead",
        {
            "CreateReadSession": grpc.unary_unary_rpc_method_handler(
                create_read_session, request_deserializer=lambda b: b, response_serializer=lambda b: b
            )
        },
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", calls
    server.stop(0)


def test_refused_read_session_falls_back_to_rest_with_a_warning(bigquery_emulator, refusing_storage_server, caplog):  # noqa: F811
    import grpc
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery_storage_v1
    from google.cloud.bigquery_storage_v1.services.big_query_read.transports import BigQueryReadGrpcTransport

    address, calls = refusing_storage_server
    storage = bigquery_storage_v1.BigQueryReadClient(
        transport=BigQueryReadGrpcTransport(channel=grpc.insecure_channel(address), credentials=AnonymousCredentials())
    )
    client = bq_connector.client(
        BigQuerySettings(project_id="test-project", dataset_id="d", api_endpoint=bigquery_emulator.endpoint)
    )
    path = extract.ReadPath("storage", "Google's endpoint", storage)

    def job():
        return client.query("SELECT n, CAST(n AS STRING) AS s FROM UNNEST(GENERATE_ARRAY(1, 50)) AS n")

    def batches_of(query_job):
        # No first page of rows, as extract.stream asks on the storage path: otherwise the
        # library answers a small result from that page instead of opening a read session.
        rows = query_job.result()
        assert rows._table is not None  # what the library needs to try the Storage API
        return extract.arrow_batches(rows, path, again=lambda: query_job.result(page_size=10))

    with caplog.at_level(logging.WARNING, logger="ga_intel.ga4.extract"):
        batches = list(batches_of(job()))
    assert sorted(n for b in batches for n in b.column("n").to_pylist()) == list(range(1, 51))
    assert len(calls) == 1
    assert path.api == "rest" and path.storage_client is None
    assert "permission denied on CreateReadSession" in path.reason
    assert "readSessionUser" in caplog.text
    # The day's later results go straight to REST: no second refused session.
    assert sum(b.num_rows for b in batches_of(job())) == 50
    assert len(calls) == 1
