"""The service never imports the dashboard's toolkit (DESIGN: pepyhat/ may never import textual)."""

from __future__ import annotations

import json
import subprocess
import sys

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
CLI = 'from pepyhat_tui.cli import main; code = main(["--demo"])'
IN_PROCESS = (  # the tests' way: PepyHatApp without a child builds the service in its own process
    "from pepyhat_tui.config import Target; "
    "dashboard.PepyHatApp(Target('demo', 'demo')).run(); code = 0"
)


def probe_dashboard(launch: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", DASHBOARD_PROBE.replace("LAUNCH", launch)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_dashboard_never_imports_the_service():
    """Embedded, the service runs in a child process: the dashboard's own process loads none of it."""
    report = probe_dashboard(CLI)
    assert report["code"] == 0
    [(slugs, operator)] = report["seen"]
    assert "billing" in slugs and operator.endswith("(embedded)")  # it did talk to the demo service
    assert report["loaded"] == [], report["loaded"]


def test_the_dashboard_probe_can_see_the_service():
    # Guards the probe: the in-process service does load it, and the probe says so.
    report = probe_dashboard(IN_PROCESS)
    [(slugs, _)] = report["seen"]
    assert "billing" in slugs
    assert {"fastapi", "sqlalchemy", "pepyhat.api"} <= set(report["loaded"])
