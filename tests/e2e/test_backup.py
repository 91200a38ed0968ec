"""The README's backup and restore commands, run as written: a restored backup serves.

SQLite: ``sqlite3 DB ".backup FILE"`` on the live database (the online backup
API: consistent while ``pepyhat serve`` writes).  PostgreSQL: ``pg_dump -Fc`` and
``pg_restore`` into an empty database.  Either way the restored copy is served
and answers the admin API and the data plane as the original did.
"""

from __future__ import annotations

import subprocess
import threading
import uuid

import httpx
from sqlalchemy.engine import make_url

from tests.conftest import create_postgres_database, need
from tests.e2e.conftest import Serve, init_token, pepyhat


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _snapshot(serve: Serve, token: str, key: str) -> tuple[list, dict]:
    """What a restore must keep: crm's members with their grants, and one data-plane answer."""
    admin = httpx.Client(base_url=f"{serve.url}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    members = admin.get("/apps/crm/members", params={"limit": 500}).json()["data"]
    email = next(m["email"] for m in members if m["grants"])
    answer = httpx.get(f"{serve.url}/api/v1/authz/{email}", params={"app": "crm"}, headers={"X-API-Key": key}, timeout=10)
    assert answer.status_code == 200 and answer.json()["roles"], answer.text
    return members, answer.json()


def _key(serve: Serve, token: str) -> str:
    created = httpx.post(f"{serve.url}/api/v1/keys", json={"name": "backup-check", "app": "crm"},
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert created.status_code == 201, created.text
    return created.json()["key"]


def test_a_sqlite_backup_taken_while_serving_writes_restores_and_serves(tmp_path):
    live, copy = tmp_path / "pepyhat.db", tmp_path / "backup.db"
    token = init_token(f"sqlite:///{live}")
    assert pepyhat("demo-data", "--db", f"sqlite:///{live}").returncode == 0
    original = Serve(f"sqlite:///{live}", tmp_path / "live.log")
    stop = threading.Event()

    def writes() -> None:  # the backup must be consistent while writes go on
        with httpx.Client(base_url=f"{original.url}/api/v1", headers={"Authorization": f"Bearer {token}"}) as api:
            while not stop.is_set():
                api.post("/users", json={"email": f"b{uuid.uuid4().hex[:10]}@example.com", "name": "B"})

    writer = threading.Thread(target=writes)
    try:
        key = _key(original, token)
        writer.start()
        backup = subprocess.run(["sqlite3", str(live), f".backup '{copy}'"], capture_output=True, text=True, timeout=60)
        assert backup.returncode == 0, backup.stderr
        stop.set()
        writer.join(timeout=30)
        check = subprocess.run(["sqlite3", str(copy), "PRAGMA integrity_check"], capture_output=True, text=True)
        assert check.stdout.strip() == "ok", check.stdout
        expected = _snapshot(original, token, key)
    finally:
        stop.set()
        original.stop()
    restored = Serve(f"sqlite:///{copy}", tmp_path / "restored.log")
    try:
        assert _snapshot(restored, token, key) == expected
    finally:
        restored.stop()


def test_a_postgresql_dump_restores_into_an_empty_database_and_serves(tmp_path):
    admin_url = need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL")
    source, drop_source = create_postgres_database(admin_url)
    target, drop_target = create_postgres_database(admin_url)
    try:
        token = init_token(source)
        assert pepyhat("demo-data", "--db", source).returncode == 0
        original = Serve(source, tmp_path / "source.log")
        try:
            key = _key(original, token)
            expected = _snapshot(original, token, key)
        finally:
            original.stop()
        dump = tmp_path / "pepyhat.dump"
        done = subprocess.run(["pg_dump", "-Fc", "-f", str(dump), _libpq(source)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        done = subprocess.run(["pg_restore", "--no-owner", "-d", _libpq(target), str(dump)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        restored = Serve(target, tmp_path / "target.log")
        try:
            assert _snapshot(restored, token, key) == expected
        finally:
            restored.stop()
    finally:
        drop_target()
        drop_source()
