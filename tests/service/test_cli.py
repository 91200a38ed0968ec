"""The ``pepyhat`` command line, run as a real process.

Contract: plaintext keys alone on stdout, everything else on stderr; exit 0 on
success, 2 on usage errors, 1 with exactly one line on failure; never a
traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select, update

from pepyhat import keys
from pepyhat.schemas import CAPABILITIES
from pepyhat.store.tables import App, AuditEvent, Grant, Key, Permission, Role, RolePermission, User
from tests.conftest import create_postgres_database, need
from tests.servers import free_port

CLI = [sys.executable, "-m", "pepyhat.cli"]
ADMIN_TOKEN = re.compile(r"^pha_[0-9A-Za-z]{48}$")


def _env() -> dict:
    # The commands must get their database from --db alone, never from the caller's environment.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEPYHAT_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def pepyhat(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=180, env=_env())


def failed(result: subprocess.CompletedProcess, *, code: int = 1) -> str:
    """Assert a clean failure; return its one stderr line."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout == ""
    if code != 1:
        return result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("pepyhat: "), lines[0]
    return lines[0]


def minted(result: subprocess.CompletedProcess) -> str:
    """Assert success with one admin token alone on stdout; return it."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and ADMIN_TOKEN.match(lines[0]), result.stdout
    assert keys.parse(lines[0]) == "admin"
    assert result.stderr.strip(), "messages belong on stderr"
    assert lines[0] not in result.stderr
    return lines[0]


@pytest.fixture
def db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'pepyhat.db'}"


def key_row(url: str, plaintext: str) -> Key:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Key).where(Key.hash == hashlib.sha256(plaintext.encode()).hexdigest())).one()
    finally:
        engine.dispose()


def audit_events(url: str) -> list[dict]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(AuditEvent).order_by(AuditEvent.id))]
    finally:
        engine.dispose()


def assert_minted_event(event: dict, row, token: str, actor: str) -> None:
    """The one event a command's mint leaves: who, what, the token's view, and no secret."""
    assert (event["action"], event["target"]) == ("key.create", f"tokens/{row.id}")
    assert (event["actor_id"], event["actor_name"], event["client"]) == (None, actor, "local")
    assert event["before"] is None
    after = event["after"]
    assert (after["id"], after["name"], after["kind"], after["status"]) == (row.id, row.name, "admin", "active")
    assert (after["capabilities"], after["scopes"], after["created_by"]) == (row.capabilities, row.scopes, actor)
    assert "key" not in after
    dumped = json.dumps(event, default=str)
    assert token not in dumped and token[10:] not in dumped and keys.digest(token) not in dumped


# -- help and usage ---------------------------------------------------------------


@pytest.mark.parametrize("command", [[], ["serve"], ["init"], ["token"], ["token", "create"], ["demo-data"]], ids=" ".join)
def test_help(command):
    result = pepyhat(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: pepyhat"), result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["token"],
        ["token", "create", "--capability", "keys.read"],  # --name is required
        ["init", "--no-such-flag"],
        ["demo-data", "--users", "-1"],
        ["demo-data", "--apps", "0"],
        ["demo-data", "--seed", "abc"],
        ["serve", "--port", "abc"],
        ["serve", "--port", "99999"],
        ["serve", "--workers", "0"],
        ["serve", "--log-level", "loud"],
    ],
    ids=lambda argv: " ".join(argv) or "no-command",
)
def test_usage_errors_exit_2(argv):
    stderr = failed(pepyhat(*argv), code=2)
    assert "usage:" in stderr


# -- init -------------------------------------------------------------------------


def test_init_mints_one_superadmin_once(db, tmp_path):
    token = minted(pepyhat("init", "--db", db))
    row = key_row(db, token)
    assert row.kind == "admin" and row.revoked_at is None and row.expires_at is None
    assert sorted(row.capabilities) == sorted(CAPABILITIES)
    assert row.scopes == [{"path": "**", "operations": ["*"]}]
    assert row.start == token[:10]
    assert token.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("pepyhat.db*"))

    again = pepyhat("init", "--db", db)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    assert again.stderr.strip()


def test_init_audits_its_mint_once(db):
    token = minted(pepyhat("init", "--db", db))
    assert pepyhat("init", "--db", db).returncode == 0  # mints nothing, so records nothing
    [event] = audit_events(db)
    row = key_row(db, token)
    assert row.created_by == "pepyhat init"
    assert_minted_event(event, row, token, "pepyhat init")
    assert event["after"]["capabilities"] == sorted(CAPABILITIES)
    assert event["after"]["scopes"] == [{"path": "**", "operations": ["*"]}]


def test_init_mints_again_when_the_superadmin_is_revoked(db):
    token = minted(pepyhat("init", "--db", db))
    engine = create_engine(db)
    with engine.begin() as conn:
        conn.execute(update(Key).where(Key.start == token[:10]).values(revoked_at=datetime.now(timezone.utc)))
    engine.dispose()
    assert minted(pepyhat("init", "--db", db)) != token


# -- token create -----------------------------------------------------------------


def test_token_create(db):
    pepyhat("init", "--db", db)
    token = minted(pepyhat("token", "create", "--name", "x", "--capability", "keys.read", "--scope", "apps/crm/**=read", "--db", db))
    row = key_row(db, token)
    assert (row.name, row.kind, row.app_id) == ("x", "admin", None)
    assert row.capabilities == ["keys.read"]
    assert row.scopes == [{"path": "apps/crm/**", "operations": ["read"]}]
    assert row.expires_at is None


def test_token_create_is_audited(db):
    token = minted(pepyhat("token", "create", "--name", "ci", "--capability", "apps.read", "--capability", "keys.read",
                           "--scope", "apps/**=read", "--expires-in", "30d", "--db", db))
    [event] = audit_events(db)
    row = key_row(db, token)
    assert row.created_by == "pepyhat cli"
    assert_minted_event(event, row, token, "pepyhat cli")
    assert event["after"]["capabilities"] == ["apps.read", "keys.read"]
    assert datetime.fromisoformat(event["after"]["expires_at"]) == row.expires_at


def test_refused_token_create_changes_nothing(db):
    pepyhat("init", "--db", db)
    before = audit_events(db)
    failed(pepyhat("token", "create", "--name", "x", "--capability", "keys.read", "--expires-in", "0s", "--db", db), code=2)
    assert audit_events(db) == before


def test_token_create_expires_in(db):
    before = datetime.now(timezone.utc)
    token = minted(
        pepyhat("token", "create", "--name", "ci", "--capability", "apps.read", "--capability", "keys.read",
                "--scope", "apps/**=read,write", "--scope", "audit=read", "--expires-in", "30d", "--db", db)
    )
    after = datetime.now(timezone.utc)
    row = key_row(db, token)
    assert row.capabilities == ["apps.read", "keys.read"]
    assert row.scopes == [{"path": "apps/**", "operations": ["read", "write"]}, {"path": "audit", "operations": ["read"]}]
    assert before + timedelta(days=30) <= row.expires_at <= after + timedelta(days=30)


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--capability", "keys.steal"], "keys.steal"),
        (["--capability", "keys.read", "--scope", "apps//crm=read"], "apps//crm"),
        (["--capability", "keys.read", "--scope", "/apps/crm=read"], "/apps/crm"),
        (["--capability", "keys.read", "--scope", "apps/crm/**"], "apps/crm/**"),  # no operations
        (["--capability", "keys.read", "--scope", "apps/crm/**=fly"], "apps/crm/**=fly"),
        (["--capability", "keys.read", "--scope", "apps/crm/**="], "apps/crm/**="),
    ],  # bad --expires-in values are usage errors (exit 2): tests/service/test_dates.py
    ids=["unknown-capability", "empty-segment", "leading-slash", "no-ops", "bad-op", "empty-ops"],
)
def test_token_create_bad_input(db, extra, says):
    line = failed(pepyhat("token", "create", "--name", "x", *extra, "--db", db))
    assert says in line


UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/x"
MYSQL = "mysql://root@127.0.0.1/x"
TOKEN_CREATE = ["token", "create", "--name", "x", "--capability", "keys.read"]


@pytest.mark.parametrize(
    "command, url, says",
    [
        pytest.param(["init"], UNREACHABLE, "cannot open database", id="init-unreachable"),
        pytest.param(["init"], "postgresql://nobody@127.0.0.1:1/x", "cannot open database", id="init-unreachable-plain-scheme"),
        pytest.param(["init"], MYSQL, "mysql", id="init-mysql"),
        pytest.param(["demo-data"], UNREACHABLE, "cannot open database", id="demo-data-unreachable"),
        pytest.param(TOKEN_CREATE, UNREACHABLE, "cannot open database", id="token-create-unreachable"),
        pytest.param(TOKEN_CREATE, MYSQL, "mysql", id="token-create-mysql"),
        pytest.param(["serve"], UNREACHABLE, "cannot open database", id="serve-unreachable"),
        pytest.param(["serve"], MYSQL, "mysql", id="serve-mysql"),
    ],
)
def test_bad_database_url(command, url, says):
    line = failed(pepyhat(*command, "--db", url))
    assert says in line


def test_serve_on_a_taken_port(db):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        line = failed(pepyhat("serve", "--db", db, "--port", str(sock.getsockname()[1])))
    assert "cannot serve" in line


# -- demo-data --------------------------------------------------------------------


def _snapshot(url: str) -> dict[str, list[tuple]]:
    """Every demo row without its wall-clock times (the demo is anchored at now).

    Offsets between two times of one row are kept: both derive from the same
    ``now``, so they are as deterministic as the rest.
    """
    def offset(later, earlier):
        return None if later is None else later - earlier

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = lambda stmt: [tuple(r) for r in conn.execute(stmt)]  # noqa: E731
            return {
                "apps": rows(select(App.id, App.slug, App.name, App.description).order_by(App.id)),
                "permissions": rows(select(Permission.id, Permission.app_id, Permission.slug, Permission.description).order_by(Permission.id)),
                "roles": rows(select(Role.id, Role.app_id, Role.slug, Role.name, Role.description).order_by(Role.id)),
                "role_permissions": rows(select(RolePermission.role_id, RolePermission.permission_id).order_by(RolePermission.role_id, RolePermission.permission_id)),
                "users": rows(select(User.id, User.email, User.name, User.active).order_by(User.id)),
                "grants": [
                    (g.user_id, g.role_id, g.granted_by, offset(g.expires_at, g.granted_at))
                    for g in conn.execute(select(Grant).order_by(Grant.user_id, Grant.role_id))
                ],
                "keys": [
                    (k.id, k.name, k.kind, k.app_slug, k.start, k.hash, k.scopes, k.capabilities, k.rate_limit_per_minute,
                     k.created_by, offset(k.expires_at, k.created_at), offset(k.revoked_at, k.created_at), k.revoke_reason)
                    for k in conn.execute(select(Key).order_by(Key.id))
                ],
            }
    finally:
        engine.dispose()


def _demo(url: str, *args: str) -> dict[str, list[tuple]]:
    result = pepyhat("demo-data", "--db", url, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "demo organisation loaded" in result.stderr
    return _snapshot(url)


def test_demo_data_is_deterministic(tmp_path):
    first = _demo(f"sqlite:///{tmp_path / 'one.db'}", "--users", "300", "--seed", "5")
    second = _demo(f"sqlite:///{tmp_path / 'two.db'}", "--users", "300", "--seed", "5")
    other = _demo(f"sqlite:///{tmp_path / 'three.db'}", "--users", "300", "--seed", "6")
    assert len(first["users"]) == 300
    assert len({email for _, email, _, _ in first["users"]}) == 300
    assert first == second
    assert other["users"] != first["users"]
    assert [k[0] for k in other["keys"]] != [k[0] for k in first["keys"]]
    # Same catalogue whatever the seed: the apps, roles and permissions are the org's shape.
    assert [a[1] for a in other["apps"]] == [a[1] for a in first["apps"]]


def test_demo_data_has_every_key_state_and_expiring_grants(db):
    started = datetime.now(timezone.utc)
    _demo(db, "--users", "300", "--seed", "5")
    engine = create_engine(db)
    with engine.connect() as conn:
        app_keys = conn.execute(select(Key).where(Key.kind == "app")).all()
        grants = conn.execute(select(Grant)).all()
        slugs = set(conn.execute(select(App.slug)).scalars())
    engine.dispose()
    assert {"crm", "wiki", "billing"} <= slugs

    revoked = [k for k in app_keys if k.revoked_at is not None]
    live = [k for k in app_keys if k.revoked_at is None]
    expired = [k for k in live if k.expires_at is not None and k.expires_at <= started]
    expiring = [k for k in live if k.expires_at is not None and started < k.expires_at <= started + timedelta(days=7)]
    assert revoked and expired and expiring, [(k.name, k.expires_at, k.revoked_at) for k in app_keys]
    assert any(k.expires_at is None for k in live)
    assert any(g.expires_at is not None and g.expires_at > started for g in grants), "no time-bound grant"
    assert any(g.expires_at is not None and g.expires_at <= started for g in grants), "no lapsed grant"
    assert any(g.expires_at is None for g in grants)


def test_demo_data_refuses_a_database_that_has_it(db):
    _demo(db, "--users", "10")
    line = failed(pepyhat("demo-data", "--db", db, "--users", "10"))
    assert "already" in line


# -- serve ------------------------------------------------------------------------


class Served:
    """``pepyhat serve`` as a real process; output goes to files so pipes never fill."""

    def __init__(self, db: str, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stderr_path = tmp_path / f"serve-{self.port}.err"
        self.stdout_path = tmp_path / f"serve-{self.port}.out"
        self.argv = [*CLI, "serve", "--db", db, "--port", str(self.port)]

    def __enter__(self) -> "Served":
        with open(self.stdout_path, "w") as out, open(self.stderr_path, "w") as err:
            self.process = subprocess.Popen(self.argv, stdout=out, stderr=err, env=_env())
        deadline = time.monotonic() + 90
        while True:
            assert self.process.poll() is None, f"serve exited {self.process.returncode}: {self.stderr_path.read_text()}"
            try:
                if httpx.get(self.url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"serve never became ready: {self.stderr_path.read_text()}"
            time.sleep(0.1)

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        stderr = self.stderr_path.read_text()
        assert "Traceback" not in stderr, stderr
        assert self.stdout_path.read_text() == ""  # no key, no log on stdout


def test_serve_sqlite(db, tmp_path):
    with Served(db, tmp_path) as served, httpx.Client(base_url=served.url, timeout=10) as client:
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        assert client.get("/readyz").json() == {"status": "ok", "limiter": "memory"}
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "pepyhat_http_requests_total" in metrics.text
        assert 'route="/readyz"' in metrics.text
        spec = client.get("/openapi.json")
        assert spec.status_code == 200
        assert "/api/v1/authz/{email}" in spec.json()["paths"]
        docs = client.get("/docs")
        assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
        # The schema was migrated on start: the admin API answers (401, not 500) on a fresh file.
        assert client.get("/api/v1/apps").status_code == 401
    # Logs are JSON lines on stderr (after the one "serving on" line).
    lines = served.stderr_path.read_text().splitlines()
    assert lines[0].startswith("pepyhat: serving on")
    assert any('"logger": "pepyhat.access"' in line and '"/healthz"' in line for line in lines[1:])


def test_postgres_demo_init_serve(tmp_path):
    url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    try:
        result = pepyhat("demo-data", "--db", url, "--users", "120", "--seed", "3")
        assert result.returncode == 0, result.stderr
        assert len(_snapshot(url)["users"]) == 120
        token = minted(pepyhat("init", "--db", url))
        assert pepyhat("init", "--db", url).stdout == ""
        reader = minted(pepyhat("token", "create", "--name", "reader", "--capability", "apps.read", "--scope", "apps/crm/**=read", "--db", url))
        with Served(url, tmp_path) as served, httpx.Client(base_url=served.url, timeout=10) as client:
            assert client.get("/healthz").status_code == 200
            apps = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}"})
            assert apps.status_code == 200, apps.text
            assert {"crm", "wiki", "billing"} <= {a["slug"] for a in apps.json()["data"]}
            crm = client.get("/api/v1/apps/crm", headers={"Authorization": f"Bearer {reader}"})
            assert crm.status_code == 200, crm.text
            wiki = client.get("/api/v1/apps/wiki", headers={"Authorization": f"Bearer {reader}"})
            assert wiki.status_code == 403, wiki.text
    finally:
        drop()
