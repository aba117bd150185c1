"""The demo tenant `make dev` brings up: local stand-ins for every external service.

- BigQuery: the emulator on 127.0.0.1:BIGQUERY_PORT (no credentials);
- master data: the demo tenant's drop folder, $GA_INTEL_FOLDER_ROOT/demo
  (default $GA_INTEL_HOME/drop/demo);
- SMTP: the local sink on 127.0.0.1:SMTP_PORT, STARTTLS with its own certificate and AUTH
  with a password generated on first run (kept 0600 in $GA_INTEL_HOME/demo/).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from ga_intel import settings

DEMO_TENANT = "demo"
BIGQUERY_PORT = 9050
SMTP_PORT = 8025
SMTP_USER = "demo-reports"
DEMO_PROJECT = "demo-project"
DEMO_DATASET = "analytics_demo"


def demo_dir() -> Path:
    path = settings.home() / "demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def smtp_password() -> str:
    path = demo_dir() / "smtp-password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(18))
    return path.read_text().strip()


def smtp_dir() -> Path:
    """Where the sink keeps its certificate and the messages it received."""
    path = demo_dir() / "smtp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tenant_settings() -> dict:
    from ga_intel.tenancy import folders

    folders.tenant_root(DEMO_TENANT).mkdir(parents=True, exist_ok=True)
    return {
        "id": DEMO_TENANT,
        "name": "Demo Supply Co.",
        "timezone": "America/Chicago",
        "bigquery": {
            "project_id": DEMO_PROJECT,
            "dataset_id": DEMO_DATASET,
            "api_endpoint": f"http://127.0.0.1:{BIGQUERY_PORT}",
        },
        "folder": {},  # its drop folder, like any tenant's
        "smtp": {
            "server": "127.0.0.1",
            "port": SMTP_PORT,
            "user_name": SMTP_USER,
            "password": smtp_password(),
            "use_tls": True,
            "tls_ca_file": str(smtp_dir() / "cert.pem"),
            "from_name": "Demo Supply Reports",
            "from_address": "reports@demo.example",
        },
        # Report links point at the dashboard `make dev` serves.
        "email": {"dashboard_url": f"http://127.0.0.1:{os.environ.get('STREAMLIT_PORT', '8501')}"},
        "members": [
            {"email": "admin@demo.example", "role": "admin"},
            {"email": "manager@demo.example", "role": "manager"},
            {"email": "rep@demo.example", "role": "rep", "branch": "CHI"},
        ],
    }


def ensure_demo_tenant() -> str:
    """Create the demo tenant unless it exists; returns a line for the console."""
    from ga_intel.tenancy import store, tenant_file

    if DEMO_TENANT in store.tenant_ids():
        folder = store.get(DEMO_TENANT).folder
        if folder is not None and folder.path is not None:
            # Made before folders were confined (it was $GA_INTEL_HOME/demo/masterdata):
            # move it to the drop folder, where the demo files are written again.
            store.set_folder(DEMO_TENANT, None, create=True)
            return f"demo tenant {DEMO_TENANT!r} present; its folder is now its drop folder"
        return f"demo tenant {DEMO_TENANT!r} present"
    store.add(tenant_file.validate(tenant_settings(), "the demo tenant"))
    return f"added demo tenant {DEMO_TENANT!r}"
