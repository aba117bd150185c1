"""The package's shape: every module imports on its own in a fresh interpreter (no import
cycles, whatever is imported first), and product code never imports the demo."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import ga_intel

ROOT = Path(ga_intel.__file__).resolve().parent

# Each module first, with every ga_intel module forgotten before it: a cycle shows up as an
# ImportError of a partially initialised module whichever side is imported first.
PROBE = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "ga_intel" or m.startswith("ga_intel.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failed.append(name + ": " + traceback.format_exc().strip().splitlines()[-1])
print("\\n".join(failed))
"""


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(ROOT)], prefix="ga_intel."))


def test_every_module_imports_first_without_a_cycle():
    result = subprocess.run([sys.executable, "-c", PROBE, *modules()], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "", result.stdout


def test_product_code_does_not_import_the_demo():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if "demo" in path.relative_to(ROOT).parts or path.name in ("devrun.py", "cli.py"):
            continue  # the demo itself, and the dev launcher / CLI that start it
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("ga_intel.demo")]
    assert offenders == []


def test_tenant_data_is_reached_only_through_tenant_scope():
    """`tenant_scope` routes each tenant to the database that holds its data (the
    platform's or its own, db/placement.py). Binding a connection to a tenant by hand
    (`enter_tenant`) would reach whatever database that connection is on: only the
    database layer, and the store's remove and key rotation (for tenants whose data is in
    the platform database, in the control plane's own transaction), and `tenant move`
    (which reads and writes both copies while the tenant is held), may."""
    allowed = {"db/engine.py", "db/placement.py", "tenancy/store.py", "tenancy/move.py"}
    offenders = []
    for path in [*ROOT.rglob("*.py"), *(ROOT.parent / "streamlit_app").rglob("*.py")]:
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix()
        if rel in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("enter_tenant", "begin_at"):
                    offenders.append(f"{rel}:{node.lineno} calls {name}")
    assert offenders == [], offenders
