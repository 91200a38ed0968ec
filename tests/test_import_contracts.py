"""The import contracts (pyproject.toml, ``[tool.importlinter]``) hold, and would catch a breach.

``lint-imports`` runs on the tree itself, then on copies of it into which one
probe breaks exactly one contract each: a contract that a probe cannot break
guards nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACTS = [c["name"] for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]]

# contract -> (file in the copy, line appended to it): each breaks that contract alone.
PROBES = {
    "The dashboard reaches the service only through its pure modules (schemas, scopes, keys, paths, review) and pepyhat.embedded": (
        "pepyhat_tui/probe.py", "from pepyhat.store import queries"),
    "The store imports nothing from the API or the service": (
        "pepyhat/store/probe.py", "from pepyhat.service import keys"),
    "The domain imports no FastAPI or Starlette": (
        # indirectly: the API module brings FastAPI in
        "pepyhat/service/probe.py", "from pepyhat.api.errors import ApiError"),
    "The service never imports the dashboard or its toolkit": (
        "pepyhat/store/probe.py", "import textual"),
    "Who-holds-what answers, access-review files, key format, scopes, paths and schemas are pure: no SQL, no store, no service": (
        "pepyhat/paths.py", "import sqlalchemy"),
    "Admin routes are thin: they call the service and never touch the store": (
        "pepyhat/api/apps.py", "from pepyhat.store import queries"),
}


def lint(cwd: Path) -> subprocess.CompletedProcess:
    # A wide terminal, so that contract names are not wrapped in the report.
    env = {**os.environ, "COLUMNS": "400", "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_tree_keeps_every_contract():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout, result.stdout


def test_every_contract_has_a_probe():
    assert sorted(PROBES) == sorted(CONTRACTS)


@pytest.mark.parametrize("contract", sorted(PROBES))
def test_a_breach_is_reported(contract, tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in ("pepyhat", "pepyhat_tui"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    file, line = PROBES[contract]
    with open(tmp_path / file, "a") as probe:
        probe.write(f"\n{line}  # probe\n")

    result = lint(tmp_path)
    report = result.stdout + result.stderr
    assert result.returncode == 1, report
    assert f"Contracts: {len(CONTRACTS) - 1} kept, 1 broken." in report, report
    assert f"{contract} BROKEN" in report, report
    # The copy was analysed, not the installed tree: the report names the probe's module.
    assert file.removesuffix(".py").replace("/", ".") in report, report
