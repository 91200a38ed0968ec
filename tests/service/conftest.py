"""A real ``pepyhat`` service per backend, on loopback, driven over HTTP.

Every service test runs twice: on SQLite and on PostgreSQL.  Each test makes
its own apps and users (unique slugs), so the tests share one server per
backend and stay independent.

Every plaintext key a response carries is remembered; when the session ends,
the database, the captured logs and the audit trail are searched for them.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.logs import JsonFormatter
from pepyhat.schemas import CAPABILITIES
from pepyhat.store import queries
from pepyhat.store.db import make_sessionmaker, transaction
from tests.conftest import fresh_database
from tests.servers import ServerThread

PLAINTEXT = re.compile(r"ph[ka]_[0-9A-Za-z]{48}")
SEEN_KEYS: set[str] = set()


def remember_keys(response: httpx.Response) -> None:
    response.read()
    SEEN_KEYS.update(PLAINTEXT.findall(response.text))


def mint_superadmin(engine: Engine, name: str = "test-superadmin") -> tuple[str, str]:
    with transaction(make_sessionmaker(engine)) as session:
        row, plaintext = queries.create_key(
            session, name=name, kind="admin", app=None, scopes=[{"path": "**", "operations": ["*"]}],
            capabilities=list(CAPABILITIES), rate_limit_per_minute=None, expires_at=None, created_by="tests",
        )
        key_id = row.id
    SEEN_KEYS.add(plaintext)
    return key_id, plaintext


@dataclass
class Service:
    backend: str
    url: str
    database_url: str
    engine: Engine
    app: object
    superadmin: str
    superadmin_id: str
    log_file: Path
    extra: dict = field(default_factory=dict)

    def access_log(self, request_id: str) -> list[dict]:
        """The access-log entries of one request in the JSON log; the line lands just after the response."""
        deadline = time.monotonic() + 10
        while True:
            entries = [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]
            found = [e for e in entries if e.get("request_id") == request_id and e["logger"] == "pepyhat.access"]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def client(self, token: str | None = None, **headers) -> httpx.Client:
        if token is None:
            token = self.superadmin
        if token:
            headers.setdefault("Authorization", f"Bearer {token}")
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, event_hooks={"response": [remember_keys]})

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, event_hooks={"response": [remember_keys]})

    @property
    def runtime(self):
        return self.app.state.runtime


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(backend, tmp_path_factory):
    with fresh_database(backend, tmp_path_factory.mktemp("sqlite") / "pepyhat.db") as url:
        yield url


@pytest.fixture(scope="session")
def service(backend, database_url, tmp_path_factory):
    log_file = tmp_path_factory.mktemp("logs") / f"{backend}.jsonl"
    handler = logging.FileHandler(log_file)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("pepyhat")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    settings = Settings(database_url=database_url, usage_flush_seconds=0.2, redis_url=None)
    app = create_app(settings, run_migrations=True)
    engine = app.state.runtime.engine
    key_id, token = mint_superadmin(engine)
    with ServerThread(app) as server:
        svc = Service(backend, server.url, database_url, engine, app, token, key_id, log_file)
        yield svc
    logger.removeHandler(handler)
    handler.close()
    _assert_no_plaintext(svc)


def _assert_no_plaintext(svc: Service) -> None:
    """After the suite: no plaintext key in the database, the logs or the audit trail."""
    assert SEEN_KEYS, "the suite minted no key; the secrecy check would prove nothing"
    leaks = []
    log_text = svc.log_file.read_text()
    assert '"logger": "pepyhat.access"' in log_text, "access log was not captured"
    leaks += [("log", k[:10]) for k in SEEN_KEYS if k in log_text]
    with svc.engine.connect() as conn:
        for table in ("keys", "audit_events", "users", "apps", "roles", "permissions", "grants"):
            dump = "\n".join(repr(tuple(row)) for row in conn.execute(text(f"SELECT * FROM {table}")))
            leaks += [(table, k[:10]) for k in SEEN_KEYS if k in dump]
    if svc.backend == "sqlite":
        svc.engine.dispose()
        path = Path(svc.database_url.removeprefix("sqlite:///"))
        blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        leaks += [("sqlite file", k[:10]) for k in SEEN_KEYS if k.encode() in blob]
    assert not leaks, f"plaintext keys found at rest: {leaks}"


@pytest.fixture
def admin(service) -> httpx.Client:
    with service.client() as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Factory:
    """Builds apps, roles, users, grants and keys through the admin API."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def _ok(self, response: httpx.Response, status: int = 201) -> dict:
        assert response.status_code == status, response.text
        return response.json() if response.content else {}

    def app(self, permissions=("users.read", "users.write"), roles=None) -> str:
        slug = unique("app")
        self._ok(self.client.post("/api/v1/apps", json={"slug": slug, "name": slug.title()}))
        for perm in permissions:
            self._ok(self.client.post(f"/api/v1/apps/{slug}/permissions", json={"slug": perm}))
        for role, perms in (roles or {}).items():
            self.role(slug, role, perms)
        return slug

    def role(self, app: str, slug: str, permissions) -> dict:
        return self._ok(
            self.client.post(f"/api/v1/apps/{app}/roles", json={"slug": slug, "name": slug.title(), "permissions": list(permissions)})
        )

    def user(self, email: str | None = None, active: bool = True) -> str:
        email = email or f"{unique('user')}@example.com"
        self._ok(self.client.post("/api/v1/users", json={"email": email, "name": "Test User", "active": active}))
        return email.lower()

    def grant(self, app: str, email: str, role: str, expires_at: str | None = None) -> dict:
        body = {"expires_at": expires_at} if expires_at else None
        return self._ok(self.client.put(f"/api/v1/apps/{app}/members/{email}/roles/{role}", json=body), 200)

    def key(self, app: str | None = None, **fields) -> dict:
        body = {"name": unique("key"), "kind": "app" if app else "admin", **fields}
        if app:
            body["app"] = app
        return self._ok(self.client.post("/api/v1/keys", json=body))


@pytest.fixture
def make(admin) -> Factory:
    return Factory(admin)
