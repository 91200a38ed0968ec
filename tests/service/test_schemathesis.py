"""schemathesis with every check against the real service, on SQLite and on PostgreSQL.

The run is the ``st`` command line (all four phases: examples, coverage,
fuzzing, stateful), bounded and derandomized by ``schemathesis.toml`` beside this
file, against a uvicorn of its own on a fresh database: the fuzzer creates,
edits, rotates and deletes at will, so it must not share the suite's service.
The examples the schema gives (app ``crm``, ``alice@example.com``) exist, so the
fuzzer reaches past the 404s.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pepyhat.api import create_app
from pepyhat.config import Settings
from tests.conftest import create_postgres_database, need
from tests.servers import ServerThread
from tests.service.conftest import mint_superadmin

CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def fuzzed_service(backend, tmp_path):
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'fuzzed.db'}", (lambda: None)
    else:
        url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    app = create_app(Settings(database_url=url, redis_url=None), run_migrations=True)
    _, token = mint_superadmin(app.state.runtime.engine, name="schemathesis")
    try:
        with ServerThread(app) as server:
            with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as admin:
                for method, path, body in [
                    ("POST", "/api/v1/apps", {"slug": "crm", "name": "CRM"}),
                    ("POST", "/api/v1/apps/crm/permissions", {"slug": "users.read"}),
                    ("POST", "/api/v1/apps/crm/roles", {"slug": "crm", "name": "CRM users", "permissions": ["users.read"]}),
                    ("POST", "/api/v1/users", {"email": "alice@example.com", "name": "Alice"}),
                    ("PUT", "/api/v1/apps/crm/members/alice@example.com/roles/crm", None),
                    ("POST", "/api/v1/keys", {"name": "crm backend", "app": "crm", "rate_limit_per_minute": 100000}),
                ]:
                    response = admin.request(method, path, json=body)
                    assert response.status_code in (200, 201), response.text
                app_key = response.json()["key"]
            operations = sum(len(ops) for ops in app.openapi()["paths"].values())
            yield server.url, token, app_key, operations
    finally:
        drop()


def test_schemathesis_all_checks(fuzzed_service, tmp_path):
    url, token, app_key, operations = fuzzed_service
    env = {**os.environ, "PEPYHAT_ST_ADMIN_TOKEN": token, "PEPYHAT_ST_APP_KEY": app_key}
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "--no-color",
        "run", f"{url}/openapi.json", "--checks", "all", "--report-dir", str(tmp_path / "report"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-30000:] + result.stderr[-5000:]
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert tested and int(tested.group(1)) == operations, result.stdout[-3000:]  # none skipped
