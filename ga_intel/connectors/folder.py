"""A local folder as the master-data source (on-prem drops, the demo tenant)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ga_intel.connectors import CheckResult, master_files_result
from ga_intel.connectors.sftp import FileInfo
from ga_intel.errors import ServiceError
from ga_intel.tenancy.tenant_file import FolderSettings


class FolderSession:
    def __init__(self, root: Path):
        self.root = root
        self.where = "folder"

    def _path(self, name: str) -> Path:
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise ServiceError("folder", f"refusing file name {name!r}: only plain names inside the folder are read")
        path = self.root / name
        if not path.is_file():
            raise ServiceError("folder", f"{name} not found in {self.root}",
                               hint="put the file there, or fix user_file/locations_file")
        return path

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
def open_session(settings: FolderSettings) -> Iterator[FolderSession]:
    root = Path(settings.path)
    if not root.is_dir():
        raise ServiceError("folder", f"folder {root} does not exist", hint="create it or fix folder.path")
    yield FolderSession(root)


def check(settings: FolderSettings) -> CheckResult:
    try:
        with open_session(settings) as session:
            names = set(session.listdir())
    except ServiceError as exc:
        return CheckResult("folder", False, str(exc))
    return master_files_result("folder", settings, names, f"{settings.path} exists", f"{settings.path}: ")
