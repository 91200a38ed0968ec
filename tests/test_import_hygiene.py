"""The service never imports the dashboard's toolkit (DESIGN: pepyhat/ may never import textual)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import pepyhat, pepyhat.api, pepyhat.cli, pepyhat.store.db
app = pepyhat.api.create_app  # the factory itself must be importable without the TUI
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "pepyhat_tui"))))
"""


def test_service_imports_no_tui_modules():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], loaded


def test_probe_can_see_textual():
    # Guards the probe: importing the dashboard does pull textual in, so the check above can fail.
    probe = "import sys, pepyhat_tui.app; print('textual' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"



# The dashboard as `pepyhat-tui --demo` runs it, headless: the service is in its child process.
DASHBOARD_PROBE = """
import asyncio, json, sys
import pepyhat_tui.app as dashboard

seen = []
def run(self):
    async def go():
        async with self.run_test():
            client = await self.wait_client()
            seen.append(([a.slug for a in (await client.list_apps()).data], self.identity.name))
    asyncio.run(go())
dashboard.PepyHatApp.run = run

LAUNCH
SERVICE = ("fastapi", "starlette", "sqlalchemy", "alembic", "uvicorn")
loaded = sorted(m for m in sys.modules if m.split(".")[0] in SERVICE
                or m.startswith(("pepyhat.api", "pepyhat.store", "pepyhat.service", "pepyhat.config")))
print(json.dumps({"code": code, "seen": seen, "loaded": loaded}))
"""
CLI = "from pepyhat_tui.cli import main; code = main(sys.argv[1:])"
IN_PROCESS = (  # the tests' way: PepyHatApp without a child builds the service in its own process
    "from pepyhat_tui.config import Target; "
    "dashboard.PepyHatApp(Target('demo', 'demo')).run(); code = 0"
)


def probe_dashboard(launch: str, tmp_path, *args: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEPYHAT_")}
    env["PEPYHAT_CONFIG"] = str(tmp_path / "config.toml")  # none: the user's own config plays no part
    result = subprocess.run(
        [sys.executable, "-c", DASHBOARD_PROBE.replace("LAUNCH", launch), *args],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, env=env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("mode", ["demo", "embedded"])
def test_the_dashboard_never_imports_the_service(mode, tmp_path):
    """Embedded, the service runs in a child process: the dashboard's own process loads none of it."""
    database = tmp_path / "data" / "pepyhat.db"
    report = probe_dashboard(CLI, tmp_path, *(["--demo"] if mode == "demo" else ["--db", str(database)]))
    assert report["code"] == 0
    [(slugs, operator)] = report["seen"]
    assert operator.endswith("(embedded)")  # it did talk to the service, as the operator
    if mode == "demo":
        assert "billing" in slugs
    else:
        assert slugs == [] and database.exists()  # a fresh file, migrated by the child
    assert report["loaded"] == [], report["loaded"]


def test_the_dashboard_probe_can_see_the_service(tmp_path):
    # Guards the probe: the in-process service does load it, and the probe says so.
    report = probe_dashboard(IN_PROCESS, tmp_path)
    [(slugs, _)] = report["seen"]
    assert "billing" in slugs
    assert {"fastapi", "sqlalchemy", "pepyhat.api"} <= set(report["loaded"])
