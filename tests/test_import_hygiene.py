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
