"""The data plane, one test per row of DESIGN.md "Data plane", over real HTTP.

``GET /api/v1/authz/{email}?app={slug}`` with ``X-API-Key`` and
``GET /api/v1/auth/validate``, against the running service on both backends; and, last,
``pepyhat.authz`` on rows made by hand (who holds what, with no database).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import httpx
from sqlalchemy import select, text, update

from pepyhat import authz as authz_rows
from pepyhat import keys
from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.ratelimit import MemoryLimiter
from pepyhat.schemas import CAPABILITIES
from pepyhat.store.tables import App, Grant, Key, Role, User
from tests.servers import ServerThread
from tests.service.conftest import SEEN_KEYS

ROLES = {
    # Created in this order on purpose: the answer must sort, not echo insertion order.
    "viewer": ["users.read"],
    "editor": ["users.write", "users.read"],
    "admin": ["users.write", "billing:export", "audit.read", "users.read"],
    "empty": [],
}
PERMISSIONS = ("users.write", "users.read", "billing:export", "audit.read")


# -- helpers -------------------------------------------------------------------


def authz(service, email: str, app: str | None = None, key: str | None = None, headers=None, params=None) -> httpx.Response:
    """One data-plane request; ``app``/``key`` None means the query parameter/header is absent."""
    query = dict(params or {})
    if app is not None:
        query["app"] = app
    sent = dict(headers or {})
    if key is not None:
        sent["X-API-Key"] = key
    with service.anonymous() as client:
        return client.get(f"/api/v1/authz/{email}", params=query, headers=sent)


def validate(service, headers: dict) -> httpx.Response:
    with service.anonymous() as client:
        return client.get("/api/v1/auth/validate", headers=headers)


def assert_error(response: httpx.Response, status: int, code: str, details: dict | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert body["error"]["details"] == (details or {}), body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-request-id"]


def answer(email: str, app: str, roles=(), permissions=(), found=True, active=True) -> dict:
    return {"email": email, "app": app, "found": found, "active": active, "roles": list(roles), "permissions": list(permissions)}


def revoke(admin: httpx.Client, key_id: str) -> None:
    response = admin.delete(f"/api/v1/keys/{key_id}")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "revoked"


def expire_key(service, key_id: str) -> None:
    """Move a key's expiry into the past, as if its time had run out."""
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    with service.engine.begin() as conn:
        result = conn.execute(update(Key).where(Key.id == key_id).values(expires_at=past))
    assert result.rowcount == 1


def expire_grant(service, app: str, email: str, role: str) -> None:
    past = datetime.now(timezone.utc) - timedelta(seconds=1)
    user_id = select(User.id).where(User.email == email).scalar_subquery()
    role_id = (
        select(Role.id).join(App, App.id == Role.app_id).where(App.slug == app, Role.slug == role).scalar_subquery()
    )
    with service.engine.begin() as conn:
        result = conn.execute(update(Grant).where(Grant.user_id == user_id, Grant.role_id == role_id).values(expires_at=past))
    assert result.rowcount == 1


def unknown_key(kind: str = "app") -> str:
    """A well-formed key with a valid checksum that the service never issued."""
    plaintext = keys.mint(kind)
    SEEN_KEYS.add(plaintext)  # the end-of-session secrecy check looks for it too
    return plaintext


def flip_last(plaintext: str) -> str:
    last = plaintext[-1]
    return plaintext[:-1] + ("A" if last != "A" else "B")


class FakeClock:
    """A settable clock for limiters: their arithmetic becomes exact."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# A whole second (the start of a limiter bucket) 15 s past a calendar minute:
# a request made then counts until CLOCK_START + 61 (ratelimit.py).
WINDOW_START = 1_800_000_000.0
CLOCK_START = WINDOW_START + 15


def freeze_limiter(service, monkeypatch) -> FakeClock:
    """Give the running service an in-process limiter on a fake clock for this test."""
    clock = FakeClock(CLOCK_START)
    monkeypatch.setattr(service.runtime, "limiter", MemoryLimiter(clock=clock))
    return clock


def seeded_app(make) -> str:
    app = make.app(permissions=PERMISSIONS)
    for role, perms in ROLES.items():
        make.role(app, role, perms)
    return app


# -- 200 ------------------------------------------------------------------------


def test_200_body_is_exact(service, make):
    app = seeded_app(make)
    elsewhere = seeded_app(make)
    email = make.user(f"Mixed.Case-{time.monotonic_ns()}@Example.COM")
    for role in ("viewer", "empty", "admin", "editor"):
        make.grant(app, email, role)
    make.grant(elsewhere, email, "viewer")  # another app's grant never leaks in
    key = make.key(app)["key"]

    response = authz(service, email.upper(), app, key)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == answer(
        email,
        app,
        roles=["admin", "editor", "empty", "viewer"],
        permissions=["audit.read", "billing:export", "users.read", "users.write"],
    )


def test_unknown_user_is_200_not_found(service, make):
    app = seeded_app(make)
    key = make.key(app)["key"]

    response = authz(service, "Nobody-Here@Example.com", app, key)

    assert response.status_code == 200, response.text
    assert response.json() == answer("nobody-here@example.com", app, found=False, active=False)


def test_deactivated_user_fails_closed_and_keeps_grants(service, make, admin):
    app = seeded_app(make)
    email = make.user()
    make.grant(app, email, "editor")
    key = make.key(app)["key"]
    assert authz(service, email, app, key).json() == answer(email, app, ["editor"], ["users.read", "users.write"])

    assert admin.patch(f"/api/v1/users/{email}", json={"active": False}).status_code == 200
    response = authz(service, email, app, key)
    assert response.status_code == 200, response.text
    assert response.json() == answer(email, app, found=True, active=False)

    # The grants were kept: reactivating restores access.
    assert admin.patch(f"/api/v1/users/{email}", json={"active": True}).status_code == 200
    assert authz(service, email, app, key).json() == answer(email, app, ["editor"], ["users.read", "users.write"])


def test_expired_grant_is_absent(service, make):
    app = seeded_app(make)
    email = make.user()
    soon = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    make.grant(app, email, "admin", expires_at=soon)
    make.grant(app, email, "viewer")
    key = make.key(app)["key"]
    before = authz(service, email, app, key)
    assert before.json() == answer(
        email, app, ["admin", "viewer"], ["audit.read", "billing:export", "users.read", "users.write"]
    )

    expire_grant(service, app, email, "admin")

    response = authz(service, email, app, key)
    assert response.status_code == 200, response.text
    assert response.json() == answer(email, app, ["viewer"], ["users.read"])


# -- refusals, in the brief's order ------------------------------------------------


def test_401_missing_api_key(service, make):
    app = seeded_app(make)
    email = make.user()
    make.grant(app, email, "viewer")
    key = make.key(app)["key"]

    assert_error(authz(service, email, app), 401, "missing_api_key")
    assert_error(authz(service, email, app, key=""), 401, "missing_api_key")
    # Only X-API-Key counts: a perfectly good key elsewhere is not accepted.
    assert_error(authz(service, email, app, headers={"Authorization": f"Bearer {key}"}), 401, "missing_api_key")
    # In the query string it is refused before anything else, as in every URL (test_secret_in_url):
    # it has leaked into logs on the way, which the caller must hear of.
    for name in ("api_key", "key", "X-API-Key", "apikey"):
        response = authz(service, email, app, params={name: key})
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "secret_in_url"
        assert response.json()["error"]["details"] == {"in": "query", "parameter": name}


def test_400_missing_app(service, make):
    app = seeded_app(make)
    email = make.user()
    key = make.key(app)["key"]

    assert_error(authz(service, email, key=key), 400, "missing_app")
    assert_error(authz(service, email, app="", key=key), 400, "missing_app")


def test_403_invalid_api_key(service, make):
    app = seeded_app(make)
    email = make.user()
    make.grant(app, email, "viewer")
    good = make.key(app)["key"]
    body = good[4:]
    cases = {
        "garbage": "hello",
        "prefix only": "phk_",
        "too short": good[:-1],
        "too long": good + "0",
        "wrong prefix": "phx_" + body,
        "upper-case prefix": "PHK_" + body,
        "non-base62 character": good[:10] + "-" + good[11:],
        "bad checksum": flip_last(good),
        "unknown well-formed key": unknown_key("app"),
        "admin token (superadmin)": service.superadmin,
        "admin token (narrow)": make.key(scopes=[{"path": f"apps/{app}/**", "operations": ["read"]}])["key"],
        "unknown admin token": unknown_key("admin"),
    }
    for label, plaintext in cases.items():
        response = authz(service, email, app, plaintext)
        assert response.status_code == 403, (label, response.text)
        assert_error(response, 403, "invalid_api_key")
    assert authz(service, email, app, good).status_code == 200  # the key it was derived from still works


def test_403_key_revoked_from_the_very_next_request(service, make, admin):
    app = seeded_app(make)
    email = make.user()
    make.grant(app, email, "viewer")
    created = make.key(app)
    assert authz(service, email, app, created["key"]).status_code == 200

    revoke(admin, created["id"])

    assert_error(authz(service, email, app, created["key"]), 403, "key_revoked")


def test_403_key_revoked_on_every_node(service, make, admin):
    """Two nodes on one database: a revoke through one is refused by the other at once."""
    app = seeded_app(make)
    email = make.user()
    created = make.key(app)
    other = create_app(Settings(database_url=service.database_url, redis_url=None))
    with ServerThread(other) as node, httpx.Client(base_url=node.url, timeout=30) as client:
        url = f"/api/v1/authz/{email}"
        assert client.get(url, params={"app": app}, headers={"X-API-Key": created["key"]}).status_code == 200

        revoke(admin, created["id"])

        assert_error(client.get(url, params={"app": app}, headers={"X-API-Key": created["key"]}), 403, "key_revoked")


def test_403_key_expired(service, make):
    app = seeded_app(make)
    email = make.user()
    created = make.key(app, expires_in="1s")
    expires_at = datetime.fromisoformat(created["expires_at"])
    # Wait until the expiry has certainly passed; nothing here measures how long anything took.
    time.sleep(max(0.0, (expires_at - datetime.now(timezone.utc)).total_seconds()) + 0.2)

    assert_error(authz(service, email, app, created["key"]), 403, "key_expired")


def test_404_app_not_found(service, make):
    app = seeded_app(make)
    email = make.user()
    key = make.key(app)["key"]

    assert_error(authz(service, email, f"{app}-gone", key), 404, "app_not_found")


def test_403_key_not_for_app(service, make):
    mine, theirs = seeded_app(make), seeded_app(make)
    alice, bob = make.user(), make.user()
    make.grant(theirs, alice, "viewer")
    key = make.key(mine)["key"]

    assert_error(authz(service, alice, theirs, key), 403, "key_not_for_app")

    # The operation matters: a write-only scope does not read.
    write_only = make.key(mine, scopes=[{"path": f"apps/{mine}/authz/**", "operations": ["write"]}])["key"]
    assert_error(authz(service, alice, mine, write_only), 403, "key_not_for_app")

    # A scope naming one user reads that user only, whatever the case in the path.
    one_user = make.key(mine, scopes=[{"path": f"apps/{mine}/authz/{alice}", "operations": ["read"]}])["key"]
    assert authz(service, alice.upper(), mine, one_user).status_code == 200
    assert_error(authz(service, bob, mine, one_user), 403, "key_not_for_app")


def test_wider_scope_reads_several_apps(service, make):
    crm, wiki, billing = seeded_app(make), seeded_app(make), seeded_app(make)
    email = make.user()
    make.grant(crm, email, "admin")
    make.grant(wiki, email, "viewer")
    gateway = make.key(crm, scopes=[{"path": "apps/*/authz/**", "operations": ["read"]}])["key"]
    pair = make.key(crm, scopes=[
        {"path": f"apps/{crm}/authz/**", "operations": ["read"]},
        {"path": f"apps/{wiki}/authz/**", "operations": ["*"]},
    ])["key"]

    expected = {
        crm: answer(email, crm, ["admin"], ["audit.read", "billing:export", "users.read", "users.write"]),
        wiki: answer(email, wiki, ["viewer"], ["users.read"]),
        billing: answer(email, billing),
    }
    for app, body in expected.items():
        response = authz(service, email, app, gateway)
        assert response.status_code == 200, response.text
        assert response.json() == body
    assert authz(service, email, crm, pair).json() == expected[crm]
    assert authz(service, email, wiki, pair).json() == expected[wiki]
    assert_error(authz(service, email, billing, pair), 403, "key_not_for_app")


def test_429_rate_limited_with_retry_after(service, make, monkeypatch):
    freeze_limiter(service, monkeypatch)
    app = seeded_app(make)
    email = make.user()
    key = make.key(app, rate_limit_per_minute=1)["key"]
    assert authz(service, email, app, key).status_code == 200

    response = authz(service, email, app, key)

    assert_error(response, 429, "rate_limited")
    assert response.headers["retry-after"] == "61"
    assert response.headers["x-ratelimit-limit"] == "1"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-reset"] == "61"


# -- the order of the checks -------------------------------------------------------

ORDER = [
    # (case, key, app, status, code): each request carries two or more faults;
    # the earliest check in the brief's order must answer.
    ("no header, no app", None, None, 401, "missing_api_key"),
    ("no header, unknown app", None, "unknown", 401, "missing_api_key"),
    ("empty header, no app", "", None, 401, "missing_api_key"),
    ("malformed key, no app", "malformed", None, 400, "missing_app"),
    ("revoked key, no app", "revoked", None, 400, "missing_app"),
    ("admin token, no app", "admin", None, 400, "missing_app"),
    ("malformed key, unknown app", "malformed", "unknown", 403, "invalid_api_key"),
    ("bad checksum, unknown app", "bad_checksum", "unknown", 403, "invalid_api_key"),
    ("unknown key, unknown app", "unknown_key", "unknown", 403, "invalid_api_key"),
    ("admin token, unknown app", "admin", "unknown", 403, "invalid_api_key"),
    ("revoked key, unknown app", "revoked", "unknown", 403, "key_revoked"),
    ("revoked and expired key, own app", "revoked_expired", "own", 403, "key_revoked"),
    ("revoked and expired key, unknown app", "revoked_expired", "unknown", 403, "key_revoked"),
    ("expired key, unknown app", "expired", "unknown", 403, "key_expired"),
    ("expired key, other app", "expired", "other", 403, "key_expired"),
    ("good key, unknown app", "good", "unknown", 404, "app_not_found"),
    ("exhausted key, unknown app", "exhausted", "unknown", 404, "app_not_found"),
    ("exhausted key, other app", "exhausted", "other", 403, "key_not_for_app"),
    ("exhausted key, own app, unknown user", "exhausted", "own", 429, "rate_limited"),
]


def test_checks_run_in_the_documented_order(service, make, admin, monkeypatch):
    freeze_limiter(service, monkeypatch)
    own, other = seeded_app(make), seeded_app(make)
    good = make.key(own)
    revoked, expired, revoked_expired = make.key(own), make.key(own), make.key(own)
    exhausted = make.key(own, rate_limit_per_minute=1)
    revoke(admin, revoked["id"])
    revoke(admin, revoked_expired["id"])
    expire_key(service, revoked_expired["id"])
    expire_key(service, expired["id"])
    assert authz(service, "someone@example.com", own, exhausted["key"]).status_code == 200  # spends the budget
    presented = {
        "": "",
        "malformed": "phk_not-a-key",
        "bad_checksum": flip_last(good["key"]),
        "unknown_key": unknown_key(),
        "admin": service.superadmin,
        "good": good["key"],
        "revoked": revoked["key"],
        "expired": expired["key"],
        "revoked_expired": revoked_expired["key"],
        "exhausted": exhausted["key"],
    }
    apps = {"own": own, "other": other, "unknown": f"{own}-unknown"}

    for case, key, app, status, code in ORDER:
        response = authz(
            service,
            "Nobody@Example.com",
            apps[app] if app else None,
            presented[key] if key is not None else None,
        )
        assert (response.status_code, response.json()["error"]["code"]) == (status, code), case
        assert_error(response, status, code)


# -- headers -----------------------------------------------------------------------


def test_every_response_carries_request_id_and_no_store(service, make, admin, monkeypatch):
    freeze_limiter(service, monkeypatch)
    app = seeded_app(make)
    email = make.user()
    key = make.key(app)["key"]
    limited = make.key(app, rate_limit_per_minute=1)["key"]
    revoked = make.key(app)
    revoke(admin, revoked["id"])
    requests = {
        200: dict(app=app, key=key),
        401: dict(app=app),
        400: dict(key=key),
        403: dict(app=app, key=revoked["key"]),
        404: dict(app=f"{app}-gone", key=key),
        429: dict(app=app, key=limited),
    }
    assert authz(service, email, app, limited).status_code == 200  # so the 429 below is one

    seen_ids = set()
    for status, kwargs in requests.items():
        response = authz(service, email, **kwargs)
        assert response.status_code == status, response.text
        assert response.headers["cache-control"] == "no-store", status
        assert response.headers["x-request-id"], status
        seen_ids.add(response.headers["x-request-id"])

        traced = authz(service, email, **kwargs, headers={"X-Request-ID": f"trace-{status}.abc_1"})
        assert traced.status_code == status
        assert traced.headers["x-request-id"] == f"trace-{status}.abc_1"
        assert traced.headers["cache-control"] == "no-store"
    assert len(seen_ids) == len(requests)  # generated ids are fresh per request


def test_rate_limit_headers_only_for_limited_keys(service, make, monkeypatch):
    freeze_limiter(service, monkeypatch)
    app = seeded_app(make)
    email = make.user()
    plain = make.key(app)["key"]
    limited = make.key(app, rate_limit_per_minute=5)["key"]

    unlimited = authz(service, email, app, plain)
    assert unlimited.status_code == 200
    assert not {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after"} & set(unlimited.headers)

    response = authz(service, email, app, limited)
    assert response.status_code == 200
    assert response.headers["x-ratelimit-limit"] == "5"
    assert response.headers["x-ratelimit-remaining"] == "4"
    assert response.headers["x-ratelimit-reset"] == "61"
    assert "retry-after" not in response.headers


# -- GET /api/v1/auth/validate --------------------------------------------------------


def test_validate_app_key_with_either_header(service, make):
    app = seeded_app(make)
    created = make.key(app, rate_limit_per_minute=7, expires_in="1h")
    expected = {
        "id": created["id"],
        "name": created["name"],
        "kind": "app",
        "app": app,
        "scopes": [{"path": f"apps/{app}/authz/**", "operations": ["read"]}],
        "capabilities": [],
        "rate_limit_per_minute": 7,
    }
    for headers in ({"X-API-Key": created["key"]}, {"Authorization": f"Bearer {created['key']}"}):
        response = validate(service, headers)
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-request-id"]
        body = response.json()
        assert set(body) == {"valid", "key"} and body["valid"] is True
        got = dict(body["key"])
        assert datetime.fromisoformat(got.pop("expires_at")) == datetime.fromisoformat(created["expires_at"])
        assert got == expected


def test_validate_admin_tokens_with_either_header(service, make):
    narrow = make.key(capabilities=["keys.read", "apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])
    cases = {
        service.superadmin: {
            "id": service.superadmin_id, "name": "test-superadmin", "kind": "admin", "app": None,
            "scopes": [{"path": "**", "operations": ["*"]}], "capabilities": sorted(CAPABILITIES),
            "expires_at": None, "rate_limit_per_minute": None,
        },
        narrow["key"]: {
            "id": narrow["id"], "name": narrow["name"], "kind": "admin", "app": None,
            "scopes": [{"path": "apps/**", "operations": ["read"]}], "capabilities": ["apps.read", "keys.read"],
            "expires_at": None, "rate_limit_per_minute": None,
        },
    }
    for token, expected in cases.items():
        for headers in ({"Authorization": f"Bearer {token}"}, {"X-API-Key": token}):
            response = validate(service, headers)
            assert response.status_code == 200, response.text
            assert response.json() == {"valid": True, "key": expected}
            assert response.headers["cache-control"] == "no-store"


def test_validate_refuses_with_401(service, make, admin):
    app = seeded_app(make)
    revoked, expired = make.key(app), make.key(app)
    revoke(admin, revoked["id"])
    expire_key(service, expired["id"])
    good = make.key(app)["key"]

    assert_error(validate(service, {}), 401, "unauthorized")
    assert_error(validate(service, {"X-API-Key": ""}), 401, "unauthorized")
    assert_error(validate(service, {"Authorization": f"Basic {good}"}), 401, "unauthorized")
    cases = {
        "malformed": ("phk_nope", "invalid_api_key"),
        "bad checksum": (flip_last(good), "invalid_api_key"),
        "unknown": (unknown_key(), "invalid_api_key"),
        "revoked": (revoked["key"], "key_revoked"),
        "expired": (expired["key"], "key_expired"),
    }
    for label, (plaintext, reason) in cases.items():
        for headers in ({"X-API-Key": plaintext}, {"Authorization": f"Bearer {plaintext}"}):
            response = validate(service, headers)
            assert response.status_code == 401, (label, response.text)
            assert_error(response, 401, "unauthorized", details={"reason": reason})


def _drop_connections(service) -> None:
    """What a database restart does to a running service: every pooled connection dies."""
    if service.backend == "sqlite":
        service.runtime.engine.dispose()
        return
    with service.runtime.engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    assert killed >= 1  # the data plane's pool held at least one


def test_authz_answers_after_the_database_drops_its_connections(service, make):
    app = seeded_app(make)
    email = make.user()
    make.grant(app, email, "viewer")
    created = make.key(app)
    assert authz(service, email, app, created["key"]).status_code == 200

    _drop_connections(service)

    for _ in range(3):  # the first request meets a dead connection; none of them may fail
        response = authz(service, email, app, created["key"])
        assert response.status_code == 200, response.text
        assert response.json()["roles"] == ["viewer"]


# -- who holds what, from the store's rows (pepyhat.authz, no database) ------------------

AT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
EARLIER, LATER = AT - timedelta(days=1), AT + timedelta(days=1)


def test_a_grant_lapses_at_its_expiry_instant():
    assert authz_rows.grant_info("viewer", "alice", EARLIER, None, AT).expired is False
    assert authz_rows.grant_info("viewer", "alice", EARLIER, LATER, AT).expired is False
    lapsed = authz_rows.grant_info("viewer", "alice", EARLIER, AT, AT)  # the very instant: gone
    assert (lapsed.expires_at, lapsed.expired) == (AT, True)


def _access(active: bool):
    # grants_of rows: app slug, app name, role id, role slug, granted by, granted at, expires at
    rows = [
        ("crm", "CRM", 1, "billing", "alice", EARLIER, EARLIER),  # expired, and first
        ("crm", "CRM", 2, "editor", "bob", EARLIER, LATER),
        ("crm", "CRM", 3, "viewer", "alice", EARLIER, None),
    ]
    by_app = authz_rows.grants_by_app(rows, {1: ["billing:export"], 2: ["users.write", "users.read"], 3: ["users.read"]}, AT)
    user = SimpleNamespace(email="carol@example.com", name="Carol", active=active, created_at=EARLIER)
    return by_app, user


def test_user_access_counts_only_live_grants_of_active_users():
    by_app, user = _access(active=True)
    (crm,) = authz_rows.user_access(user, by_app).apps
    assert (crm.roles, crm.permissions) == (["editor", "viewer"], ["users.read", "users.write"])
    assert [(g.role, g.expires_at, g.expired) for g in crm.grants] == [
        ("billing", EARLIER, True), ("editor", LATER, False), ("viewer", None, False),
    ]
    by_app, user = _access(active=False)
    (crm,) = authz_rows.user_access(user, by_app).apps
    assert (crm.roles, crm.permissions, len(crm.grants)) == ([], [], 3)  # shown, granting nothing


def test_explain_skips_lapsed_grants_and_goes_on():
    by_app, _ = _access(active=True)
    _, grants = by_app["crm"]
    access = authz_rows.Access(True, True, ["editor", "viewer"], ["users.read", "users.write"])
    why = authz_rows.explain("crm", "carol@example.com", access, True, grants).why
    assert {perm: [g.role for g in held] for perm, held in why.items()} == {
        "users.read": ["editor", "viewer"], "users.write": ["editor"],
    }
    assert authz_rows.explain("crm", "carol@example.com", access, False, grants).why == {}
