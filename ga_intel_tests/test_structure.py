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
