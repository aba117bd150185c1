"""Where a tenant's master-data folder may be: `<GA_INTEL_FOLDER_ROOT>/<tenant_id>`.

A folder path is host state, so only the operator sets it (the tenant file, or
`ga-intel tenant set-folder`), and even then it must stay inside the tenant's own drop
folder: one tenant can never read another's files or probe the host. Paths are checked
twice, first as written (no file-system access for a path outside), then as resolved
(a symlink that leaves the drop folder is refused)."""

from __future__ import annotations

import os
from pathlib import Path

from ga_intel import settings
from ga_intel.errors import GaIntelError

ROOT_VAR = "GA_INTEL_FOLDER_ROOT"


class FolderOutsideRoot(GaIntelError):
    pass


def root() -> Path:
    """The operator's root for drop folders (default `$GA_INTEL_HOME/drop`)."""
    raw = os.environ.get(ROOT_VAR)
    return Path(os.path.abspath(os.path.expanduser(raw))) if raw else settings.home() / "drop"


def tenant_root(tenant_id: str) -> Path:
    return root() / tenant_id


def _inside(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip(os.sep) + os.sep)


def resolve(tenant_id: str, path: str | None) -> Path:
    """The real folder for a stored `folder.path`: none means the tenant's drop folder,
    a relative path is relative to it, an absolute one must lie inside it.

    Raises FolderOutsideRoot, whose message is the same whether the path exists or not."""
    base = tenant_root(tenant_id)
    written = Path(os.path.expanduser(path)) if path else base
    lexical = os.path.normpath(written if written.is_absolute() else base / written)
    refused = FolderOutsideRoot(
        f"folder.path {path!r} is outside tenant {tenant_id!r}'s drop folder {base}",
        hint=f"the operator puts the tenant's files in {base} (or a folder inside it) and sets it with "
        f"`ga-intel tenant set-folder {tenant_id} [PATH]`",
    )
    if not _inside(lexical, str(base)):
        raise refused
    real_root = os.path.realpath(root())
    real_base = os.path.realpath(base)
    real = os.path.realpath(lexical)
    # A symlink anywhere on the way (the tenant's folder itself included) may not lead out.
    if not _inside(real_base, os.path.join(real_root, tenant_id)) or not _inside(real, real_base):
        raise refused
    return Path(real)


def create(tenant_id: str, path: str | None) -> Path:
    """Make the tenant's drop folder and `path` inside it (the operator's choice, as
    `tenant set-folder --create`); returns the real folder. FolderOutsideRoot as `resolve`."""
    base = tenant_root(tenant_id)
    base.mkdir(parents=True, exist_ok=True, mode=0o750)
    resolve(tenant_id, path).mkdir(parents=True, exist_ok=True, mode=0o750)
    return resolve(tenant_id, path)


def relative(tenant_id: str, path: str | None) -> str | None:
    """How a confined path is stored: relative to the drop folder (None for the folder
    itself), so that moving the root moves every tenant's folder with it."""
    real = resolve(tenant_id, path)
    rel = os.path.relpath(real, os.path.realpath(tenant_root(tenant_id)))
    return None if rel == "." else rel
