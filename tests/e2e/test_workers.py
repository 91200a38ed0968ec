"""``pepyhat serve --workers 2`` under 16 concurrent writers and a data-plane load at once.

Two worker processes share one database: no request may fail (no 5xx, no
"database is locked" on SQLite), and key usage noted in either worker must add
up in the database: ``refused_since_revoke`` counts every refusal of a revoked
key across both, ``last_used_at`` is set for a key used in either.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter

import httpx

from tests.e2e.conftest import Serve, init_token
from tests.servers import wait_for

WRITERS = 16
WRITES = 6  # per writer
REFUSALS = 100  # data-plane requests with a revoked key, spread over both workers


def test_two_workers_take_concurrent_writes_and_count_usage_across_both(database, tmp_path):
    token = init_token(database)
    log_path = tmp_path / "serve.log"
    env = {**os.environ, "PEPYHAT_USAGE_FLUSH_SECONDS": "0.2"}
    serve = Serve(database, log_path, "--workers", "2", env=env)
    base = serve.url
    try:
        admin = httpx.Client(base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=20)
        assert admin.post("/apps", json={"slug": "crm", "name": "CRM"}).status_code == 201
        assert admin.post("/apps/crm/permissions", json={"slug": "users.read"}).status_code == 201
        assert admin.post("/apps/crm/roles", json={"slug": "viewer", "name": "V", "permissions": ["users.read"]}).status_code == 201
        live = admin.post("/keys", json={"name": "live", "app": "crm"}).json()
        dead = admin.post("/keys", json={"name": "dead", "app": "crm"}).json()
        assert admin.delete(f"/keys/{dead['id']}").status_code == 200

        statuses: Counter[str] = Counter()
        lock = threading.Lock()

        def count(kind: str, status: int) -> None:
            with lock:
                statuses[f"{kind} {status}"] += 1

        def writer() -> None:
            with httpx.Client(base_url=f"{base}/api/v1", headers=admin.headers, timeout=20) as api:
                for _ in range(WRITES):
                    email = f"w{uuid.uuid4().hex[:10]}@example.com"
                    count("user", api.post("/users", json={"email": email, "name": "W"}).status_code)
                    count("grant", api.put(f"/apps/crm/members/{email}/roles/viewer").status_code)

        def reader(key: str, n: int, kind: str) -> None:
            # A new connection per request, so both workers take their share of them.
            for _ in range(n):
                answer = httpx.get(f"{base}/api/v1/authz/a@example.com", params={"app": "crm"},
                                   headers={"X-API-Key": key, "Connection": "close"}, timeout=20)
                count(kind, answer.status_code)

        threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
        threads += [threading.Thread(target=reader, args=(live["key"], 50, "authz")) for _ in range(2)]
        threads += [threading.Thread(target=reader, args=(dead["key"], REFUSALS // 2, "revoked")) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert statuses == Counter({
            "user 201": WRITERS * WRITES, "grant 200": WRITERS * WRITES, "authz 200": 100, "revoked 403": REFUSALS,
        }), statuses
        members = admin.get("/apps/crm/roles/viewer").json()["member_count"]
        assert members == WRITERS * WRITES

        def flushed():
            refused = admin.get(f"/keys/{dead['id']}").json()["refused_since_revoke"]
            return refused == REFUSALS and admin.get(f"/keys/{live['id']}").json()["last_used_at"] is not None

        wait_for(flushed, "usage of both workers flushed", timeout=20)
        log_text = log_path.read_text()
        assert "database is locked" not in log_text and "Traceback" not in log_text, log_text[-3000:]
    finally:
        serve.stop()
