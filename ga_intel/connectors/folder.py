"""A local folder as the master-data source (on-prem drops, the demo tenant).

The folder lies inside the tenant's drop folder `<GA_INTEL_FOLDER_ROOT>/<tenant_id>`
(tenancy/folders.py); every open checks that again, on real paths, so neither a stored
path nor a symlink placed later reaches another tenant's files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ga_intel.connectors import CheckResult, master_files_result
from ga_intel.connectors.sftp import FileInfo
from ga_intel.errors import ServiceError
from ga_intel.tenancy import folders
from ga_intel.tenancy.tenant_file import FolderSettings


class FolderSession:
    def __init__(self, root: Path):
        self.root = root
        self.where = "folder"

    def _path(self, name: str) -> Path:
        if not name or "/" in name or "\\" in name or name in (".", "..") or "\x00" in name:
            raise ServiceError("folder", f"refusing file name {name!r}: only plain names inside the folder are read")
        path = self.root / name
        real = os.path.realpath(path)
        if os.path.dirname(real) != str(self.root):
            raise ServiceError(
                "folder",
                f"refusing {name}: it is a link to a file outside the folder",
                hint="put the file itself in the folder, not a symlink",
            )
        if not path.is_file():
            raise ServiceError(
                "folder", f"{name} not found in {self.root}", hint="put the file there, or fix user_file/locations_file"
            )
        return Path(real)

    def listdir(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir())

    def stat(self, name: str) -> FileInfo:
        st = self._path(name).stat()
        return FileInfo(name, st.st_size, st.st_mtime)

    def read(self, name: str, max_bytes: int | None = None) -> bytes:
        """The file's bytes; at most `max_bytes` of them."""
        with self._path(name).open("rb") as fh:
            return fh.read(max_bytes) if max_bytes is not None else fh.read()


@contextmanager
def open_session(settings: FolderSettings, tenant_id: str) -> Iterator[FolderSession]:
    try:
        root = folders.resolve(tenant_id, settings.path)
    except folders.FolderOutsideRoot as exc:
        raise ServiceError("folder", exc.message, hint=exc.hint) from None
    if not root.is_dir():
        raise ServiceError(
            "folder",
            f"folder {root} does not exist",
            hint="the operator creates it (`ga-intel tenant set-folder` does)",
        )
    yield FolderSession(root)


def check(settings: FolderSettings, tenant_id: str) -> CheckResult:
    try:
        with open_session(settings, tenant_id) as session:
            names = set(session.listdir())
            where = str(session.root)
    except ServiceError as exc:
        return CheckResult("folder", False, str(exc))
    return master_files_result("folder", settings, names, f"{where} exists", f"{where}: ")
