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
import subprocess
import sys
import threading
import time
import uuid
from typing import Iterator

import httpx
import pytest

from tests.conftest import create_postgres_database, need
from tests.e2e.conftest import ROOT, pepyhat
from tests.servers import free_port

WRITERS = 8
KILL_AFTER = 60  # acknowledged writes before the kill: enough to land mid-burst
PERMISSIONS = ["a.read", "a.write", "a.delete"]


def _serve(db: str, port: int, log) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "pepyhat.cli", "serve", "--db", db, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, f"pepyhat serve exited {process.returncode}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "pepyhat serve did not become ready in 30 s"
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'pepyhat.db'}"
        return
    url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    try:
        yield url
    finally:
        drop()


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
    init = pepyhat("init", "--db", database)
    assert init.returncode == 0, init.stderr
    token = init.stdout.strip()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    log = (tmp_path / "serve.log").open("w")
    process = _serve(database, port, log)
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
                            os.kill(process.pid, signal.SIGKILL)

        threads = [threading.Thread(target=writer) for _ in range(WRITERS)]
        for thread in threads:
            thread.start()
        process.wait(timeout=60)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        assert process.returncode == -signal.SIGKILL
        assert len(acknowledged) >= KILL_AFTER

        process = _serve(database, port, log)
        with httpx.Client(base_url=url, headers=headers, timeout=10) as api:
            roles = {r["slug"]: r for r in _pages(api, "/apps/crm/roles")}
            audited = {e["target"] for e in _pages(api, "/audit", action="role.create")}
        missing = [slug for slug in acknowledged if slug not in roles]
        assert not missing, f"{len(missing)} acknowledged writes lost: {missing[:5]}"
        for slug, role in roles.items():
            assert sorted(role["permissions"]) == sorted(PERMISSIONS), f"{slug} half-written: {role}"
            assert f"apps/crm/roles/{slug}" in audited, f"{slug} has no audit event"
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        log.close()
