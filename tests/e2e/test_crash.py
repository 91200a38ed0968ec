"""``kill -9`` during a burst of concurrent writes loses nothing that was acknowledged.

A real ``pepyhat serve`` takes writes from several threads at once; it is killed
with SIGKILL mid-burst and started again on the same database.  Every write that
answered 2xx must be there with its audit event, and nothing may be half-written:
each role is written with its permissions and its audit event in one transaction,
so a role that exists has all of them.
"""

from __future__ import annotations

import os
import signal
import threading
import uuid

import httpx

from tests.e2e.conftest import Serve, init_token

WRITERS = 8
KILL_AFTER = 60  # acknowledged writes before the kill: enough to land mid-burst
PERMISSIONS = ["a.read", "a.write", "a.delete"]


def _pages(api: httpx.Client, path: str, **params) -> list[dict]:
    out, cursor = [], None
    while True:
        page = api.get(path, params={**params, "limit": 200, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        out += body["data"]
        if not body["has_more"]:
            return out
        cursor = body["next_cursor"]


def test_kill_9_mid_burst_keeps_every_acknowledged_write_and_no_half_written_one(database, tmp_path):
    headers = {"Authorization": f"Bearer {init_token(database)}"}
    serve = Serve(database, tmp_path / "serve.log")
    url = f"{serve.url}/api/v1"
    try:
        with httpx.Client(base_url=url, headers=headers, timeout=10) as api:
            assert api.post("/apps", json={"slug": "crm", "name": "CRM"}).status_code == 201
            for slug in PERMISSIONS:
                assert api.post("/apps/crm/permissions", json={"slug": slug}).status_code == 201

        acknowledged: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer() -> None:
            with httpx.Client(base_url=url, headers=headers, timeout=10) as api:
                while not stop.is_set():
                    slug = f"r-{uuid.uuid4().hex[:12]}"
                    try:
                        answer = api.post("/apps/crm/roles", json={"slug": slug, "name": slug, "permissions": PERMISSIONS})
                    except httpx.HTTPError:  # the kill: this write was never acknowledged
                        return
                    assert answer.status_code == 201, answer.text  # no 5xx, no "database is locked"
                    with lock:
                        acknowledged.append(slug)
                        if len(acknowledged) >= KILL_AFTER:
                            os.kill(serve.process.pid, signal.SIGKILL)

        threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
        for thread in threads:
            thread.start()
        serve.process.wait(timeout=60)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert serve.process.returncode == -signal.SIGKILL
        assert len(acknowledged) >= KILL_AFTER

        serve = Serve(database, tmp_path / "serve.log", port=serve.port)
        with httpx.Client(base_url=url, headers=headers, timeout=10) as api:
            roles = {r["slug"]: r for r in _pages(api, "/apps/crm/roles")}
            audited = {e["target"] for e in _pages(api, "/audit", action="role.create")}
        missing = [slug for slug in acknowledged if slug not in roles]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
        for slug, role in roles.items():
            assert sorted(role["permissions"]) == sorted(PERMISSIONS), f"{slug} half-written: {role}"
            assert f"apps/crm/roles/{slug}" in audited, f"{slug} has no audit event"
    finally:
        serve.stop()
