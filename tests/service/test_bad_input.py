"""Bad input, every kind: a 4xx in the error envelope, and nothing changed.

"Nothing changed" is checked on the database itself: every row of every table
(the audit trail included) is the same before and after the request, except
what the service flushes in the background: ``keys.last_used_at``,
``last_used_from`` and ``refused_since_revoke``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import text

from pepyhat import keys, schemas
from pepyhat.api import create_app
from pepyhat.api.middleware import MAX_BODY
from pepyhat.config import Settings
from tests.service.conftest import unique
from tests.service.openapi_walk import body_operations, document, resolve  # noqa: F401  (fixture)

TABLES = ("apps", "permissions", "roles", "role_permissions", "users", "grants", "keys", "audit_events")
PAST = "2001-01-01T00:00:00+00:00"
FLUSHED = {"last_used_at", "last_used_from", "refused_since_revoke"}  # pepyhat.usage writes them at its own pace


# -- helpers -------------------------------------------------------------------


def dump(service) -> dict[str, list[str]]:
    out = {}
    with service.engine.connect() as conn:
        for table in TABLES:
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings()
            out[table] = sorted(repr(sorted((k, v) for k, v in row.items() if k not in FLUSHED)) for row in rows)
    return out


@contextmanager
def unchanged(service):
    """Assert the block leaves every table exactly as it found it."""
    before = dump(service)
    yield
    after = dump(service)
    for table in TABLES:
        gone = sorted(set(before[table]) - set(after[table]))
        new = sorted(set(after[table]) - set(before[table]))
        assert not gone and not new, f"{table} changed: removed {gone[:3]}, added {new[:3]}"


def envelope(response: httpx.Response, status: int, code: str) -> dict:
    """Check status and the envelope's exact shape; return its details."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert isinstance(body["error"]["details"], dict), body
    assert response.headers["x-request-id"]
    return body["error"]["details"]


def invalid_field(response: httpx.Response, field: str) -> None:
    details = envelope(response, 422, "validation_error")
    fields = [f["field"] for f in details["fields"]]
    assert field in fields, details


@dataclass
class World:
    app: str
    role: str
    email: str
    key_id: str
    token_id: str


@pytest.fixture
def world(make) -> World:
    app = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(app, email, "viewer")
    key_id = make.key(app)["id"]
    token_id = make.key(capabilities=["apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])["id"]
    return World(app, "viewer", email, key_id, token_id)


def fill(template, w: World):
    """Fill ``{app}``, ``{email}``... in strings, lists and dicts."""
    if isinstance(template, str):
        return template.format(
            app=w.app, role=w.role, email=w.email, key=w.key_id, token=w.token_id, new=unique("new"), absent=keys.new_id()
        )
    if isinstance(template, list):
        return [fill(t, w) for t in template]
    if isinstance(template, dict):
        return {k: fill(v, w) for k, v in template.items()}
    return template


# -- 422 validation_error, naming the field ------------------------------------

FIELD_ERRORS = [
    # invalid slugs
    ("POST", "/api/v1/apps", {"slug": "Bad_Slug", "name": "x"}, "slug"),
    ("POST", "/api/v1/apps", {"slug": "-leading-dash", "name": "x"}, "slug"),
    ("POST", "/api/v1/apps", {"slug": "a" * 64, "name": "x"}, "slug"),
    ("POST", "/api/v1/apps", {"slug": "", "name": "x"}, "slug"),
    ("POST", "/api/v1/apps", {"slug": "{new}", "name": ""}, "name"),
    ("POST", "/api/v1/apps/{app}/permissions", {"slug": "Users.Read"}, "slug"),
    ("POST", "/api/v1/apps/{app}/permissions", {"slug": "users read"}, "slug"),
    ("POST", "/api/v1/apps/{app}/permissions", {"slug": ".users"}, "slug"),
    ("POST", "/api/v1/apps/{app}/roles", {"slug": "Admin", "name": "Admin"}, "slug"),
    ("POST", "/api/v1/apps/{app}/roles", {"slug": "r", "name": "R", "permissions": ["Not A Perm"]}, "permissions.0"),
    ("PATCH", "/api/v1/apps/{app}/roles/{role}", {"permissions": ["users.read", "BAD"]}, "permissions.1"),
    ("POST", "/api/v1/keys", {"name": "k", "kind": "app", "app": "Bad App"}, "app"),
    # invalid emails
    ("POST", "/api/v1/users", {"email": "not-an-email"}, "email"),
    ("POST", "/api/v1/users", {"email": "a@b@example.com"}, "email"),
    ("POST", "/api/v1/users", {"email": "a b@example.com"}, "email"),
    ("POST", "/api/v1/users", {"email": "a/b@example.com"}, "email"),
    ("POST", "/api/v1/users", {"email": "@example.com"}, "email"),
    ("POST", "/api/v1/users", {"email": ""}, "email"),
    ("POST", "/api/v1/users", {"name": "No Email"}, "email"),
    # unknown fields
    ("POST", "/api/v1/apps", {"slug": "{new}", "name": "x", "colour": "red"}, "colour"),
    ("PATCH", "/api/v1/apps/{app}", {"slug": "renamed"}, "slug"),
    ("POST", "/api/v1/apps/{app}/permissions", {"slug": "p.x", "name": "x"}, "name"),
    ("POST", "/api/v1/apps/{app}/roles", {"slug": "r", "name": "R", "perms": []}, "perms"),
    ("PATCH", "/api/v1/apps/{app}/roles/{role}", {"permission": ["users.read"]}, "permission"),
    ("POST", "/api/v1/users", {"email": "{new}@example.com", "admin": True}, "admin"),
    ("PATCH", "/api/v1/users/{email}", {"email": "other@example.com"}, "email"),
    ("PUT", "/api/v1/apps/{app}/members/{email}/roles/{role}", {"expires": "2099-01-01T00:00:00Z"}, "expires"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "secret": "x"}, "secret"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "scopes": [{"path": "**", "operations": ["read"], "deny": True}]}, "scopes.0.deny"),
    ("PATCH", "/api/v1/keys/{key}", {"kind": "admin"}, "kind"),
    ("POST", "/api/v1/keys/{key}/rotate", {"grace": "1h", "now": True}, "now"),
    ("POST", "/api/v1/keys/lookup", {"start": "phk_abcdef", "app": "x"}, "app"),
    # wrong types
    ("POST", "/api/v1/apps", {"slug": "{new}", "name": 123}, "name"),
    ("POST", "/api/v1/apps", {"slug": ["x"], "name": "x"}, "slug"),
    ("PATCH", "/api/v1/apps/{app}", {"description": {"text": "x"}}, "description"),
    ("POST", "/api/v1/users", {"email": "{new}@example.com", "active": "maybe"}, "active"),
    ("PATCH", "/api/v1/users/{email}", {"active": "maybe"}, "active"),
    ("PATCH", "/api/v1/users/{email}", {"active": None}, "active"),
    ("PATCH", "/api/v1/apps/{app}", {"name": None}, "name"),
    ("POST", "/api/v1/apps/{app}/roles", {"slug": "r", "name": "R", "permissions": "users.read"}, "permissions"),
    ("PATCH", "/api/v1/apps/{app}/roles/{role}", {"permissions": None}, "permissions"),
    ("PUT", "/api/v1/apps/{app}/members/{email}/roles/{role}", {"expires_at": "tomorrow"}, "expires_at"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "rate_limit_per_minute": "fast"}, "rate_limit_per_minute"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "rate_limit_per_minute": 0}, "rate_limit_per_minute"),
    ("POST", "/api/v1/keys", {"name": "k", "kind": "robot"}, "kind"),
    ("POST", "/api/v1/keys", {"name": "k", "kind": "admin", "capabilities": ["root"]}, "capabilities.0"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "scopes": [{"path": "apps//x", "operations": ["read"]}]}, "scopes.0.path"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "scopes": [{"path": "**", "operations": ["rule"]}]}, "scopes.0.operations.0"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "expires_in": "soon"}, "expires_in"),
    ("PATCH", "/api/v1/keys/{key}", {"scopes": {"path": "**"}}, "scopes"),
    ("PATCH", "/api/v1/keys/{key}", {"name": None}, "name"),
    ("POST", "/api/v1/keys/{key}/rotate", {"grace": "a while"}, "grace"),
    # inconsistent bodies: the model as a whole is refused
    ("POST", "/api/v1/keys", {"name": "k", "kind": "app"}, "body"),
    ("POST", "/api/v1/keys", {"name": "k", "kind": "admin", "app": "{app}"}, "body"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "capabilities": ["apps.read"]}, "body"),
    ("POST", "/api/v1/keys/lookup", {}, "body"),
    ("POST", "/api/v1/apps", [{"slug": "x", "name": "x"}], "body"),
    ("POST", "/api/v1/apps", None, "body"),
    # NUL characters (PostgreSQL text cannot hold them)
    ("POST", "/api/v1/apps", {"slug": "{new}", "name": "a\u0000b"}, "name"),
    ("POST", "/api/v1/users", {"email": "a\u0000b@example.com"}, "email"),
    ("PATCH", "/api/v1/users/{email}", {"name": "\u0000"}, "name"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "scopes": [{"path": "a\u0000", "operations": ["read"]}]}, "scopes.0.path"),
    # expiry in the past, or without an offset
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "expires_at": PAST}, "expires_at"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
    ("POST", "/api/v1/keys", {"name": "k", "app": "{app}", "expires_in": "0s"}, "expires_in"),
    ("PATCH", "/api/v1/keys/{key}", {"expires_at": PAST}, "expires_at"),
    ("PUT", "/api/v1/apps/{app}/members/{email}/roles/{role}", {"expires_at": PAST}, "expires_at"),
]


@pytest.mark.parametrize(
    "method, path, body, field", FIELD_ERRORS, ids=[f"{m} {p} {f}" for m, p, _, f in FIELD_ERRORS]
)
def test_invalid_field_is_422_naming_it(service, admin, world, method, path, body, field):
    url, sent = fill(path, world), fill(body, world)
    with unchanged(service):
        invalid_field(admin.request(method, url, content=json.dumps(sent), headers={"Content-Type": "application/json"}), field)


def test_failed_grant_update_keeps_the_grant(service, admin, world):
    url = f"/api/v1/apps/{world.app}/members/{world.email}/roles/{world.role}"
    with unchanged(service):
        invalid_field(admin.put(url, json={"expires_at": PAST}), "expires_at")
    [member] = admin.get(f"/api/v1/apps/{world.app}/members").json()["data"]
    assert [(g["role"], g["expires_at"]) for g in member["grants"]] == [(world.role, None)]


# -- query parameters ----------------------------------------------------------


def cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "path, params, status, code",
    [
        ("/api/v1/users", {"limit": 501}, 422, "validation_error"),
        ("/api/v1/apps", {"limit": 0}, 422, "validation_error"),
        ("/api/v1/keys", {"limit": "ten"}, 422, "validation_error"),
        ("/api/v1/audit", {"limit": 100000}, 422, "validation_error"),
        ("/api/v1/users", {"active": "sometimes"}, 422, "validation_error"),
        ("/api/v1/keys", {"status": "dormant"}, 422, "validation_error"),
        ("/api/v1/keys", {"kind": "robot"}, 422, "validation_error"),
        ("/api/v1/users", {"q": "x" * 201}, 422, "validation_error"),
        ("/api/v1/audit", {"since": "yesterday"}, 422, "validation_error"),
        ("/api/v1/audit", {"since": "2020-01-01T00:00:00"}, 422, "validation_error"),
        ("/api/v1/audit", {"target": "apps//x"}, 422, "validation_error"),
        ("/api/v1/explain/{email}", {}, 422, "validation_error"),
        ("/api/v1/users", {"cursor": "not a cursor!"}, 400, "invalid_cursor"),
        ("/api/v1/users", {"cursor": base64.urlsafe_b64encode(b"\xff\xfe").decode()}, 400, "invalid_cursor"),
        ("/api/v1/apps", {"cursor": base64.urlsafe_b64encode(b"{not json").decode()}, 400, "invalid_cursor"),
        ("/api/v1/apps", {"cursor": cursor({"slug": "x"})}, 400, "invalid_cursor"),
        ("/api/v1/apps", {"cursor": cursor(["a", "b"])}, 400, "invalid_cursor"),
        ("/api/v1/users", {"cursor": cursor([{"email": "x"}])}, 400, "invalid_cursor"),
        ("/api/v1/keys", {"cursor": cursor(["key_x"])}, 400, "invalid_cursor"),
        ("/api/v1/keys", {"cursor": cursor([1, 2])}, 400, "invalid_cursor"),
        ("/api/v1/keys", {"cursor": cursor(["not a time", "key_x"])}, 400, "invalid_cursor"),
        ("/api/v1/keys", {"cursor": cursor(["2020-01-01T00:00:00", "key_x"])}, 400, "invalid_cursor"),
        ("/api/v1/users", {"cursor": cursor(["a\u0000b"])}, 400, "invalid_cursor"),
        ("/api/v1/audit", {"cursor": cursor([10**30])}, 400, "invalid_cursor"),
        ("/api/v1/audit", {"cursor": cursor(["x"])}, 400, "invalid_cursor"),
        ("/api/v1/audit", {"cursor": cursor([True])}, 400, "invalid_cursor"),
        ("/api/v1/apps/{app}/members", {"cursor": cursor([None])}, 400, "invalid_cursor"),
    ],
)
def test_bad_query_parameter(service, admin, world, path, params, status, code):
    with unchanged(service):
        details = envelope(admin.get(fill(path, world), params=params), status, code)
    if code == "validation_error":
        assert details["fields"], details


# -- bodies the middleware refuses ---------------------------------------------


def oversized() -> bytes:
    padding = "x" * MAX_BODY
    return json.dumps({"slug": unique("big"), "name": "x", "description": padding}).encode()


def test_oversized_body_with_content_length_is_413(service, admin):
    body = oversized()
    assert len(body) > MAX_BODY
    with unchanged(service):
        envelope(admin.post("/api/v1/apps", content=body, headers={"Content-Type": "application/json"}), 413, "payload_too_large")


def test_oversized_chunked_body_is_413(service, admin):
    body = oversized()

    def chunks():  # a generator: httpx sends it chunked, with no content-length
        for i in range(0, len(body), 64 * 1024):
            yield body[i : i + 64 * 1024]

    with unchanged(service):
        response = admin.post("/api/v1/apps", content=chunks(), headers={"Content-Type": "application/json"})
        assert "content-length" not in response.request.headers
        envelope(response, 413, "payload_too_large")


def test_body_of_exactly_the_cap_is_read(service, admin):
    """The cap is 1 MiB: a body of exactly that size gets past the middleware to validation."""
    prefix = f'{{"slug": "{unique("cap")}", "name": "x", "description": "'.encode()
    body = prefix + b"x" * (MAX_BODY - len(prefix) - 2) + b'"}'
    assert len(body) == MAX_BODY
    with unchanged(service):
        invalid_field(admin.post("/api/v1/apps", content=body, headers={"Content-Type": "application/json"}), "description")


@pytest.mark.parametrize(
    "content",
    ['{"slug": ', "{'slug': 'x'}", '{"slug": "x", "name": "x"} trailing', "", "[1, 2", "nul"],
)
def test_malformed_json_is_400(service, admin, content):
    with unchanged(service):
        response = admin.post("/api/v1/apps", content=content.encode(), headers={"Content-Type": "application/json"})
        if content == "":
            invalid_field(response, "body")  # an empty body is a missing body, not broken JSON
        else:
            assert envelope(response, 400, "invalid_json") == {}


def test_malformed_json_on_every_write_verb(service, admin, world):
    for method, path in (
        ("PATCH", f"/api/v1/users/{world.email}"),
        ("PUT", f"/api/v1/apps/{world.app}/members/{world.email}/roles/{world.role}"),
        ("POST", "/api/v1/keys"),
    ):
        with unchanged(service):
            response = admin.request(method, path, content=b"{bad", headers={"Content-Type": "application/json"})
            envelope(response, 400, "invalid_json")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", None],
)
def test_non_json_content_type_is_415(service, admin, content_type):
    body = json.dumps({"slug": unique("ct"), "name": "x"}).encode()
    headers = {"Content-Type": content_type} if content_type else {}
    with unchanged(service):
        response = admin.post("/api/v1/apps", content=body, headers=headers)
        assert response.request.headers.get("content-type") == content_type
        envelope(response, 415, "unsupported_media_type")


def test_non_json_chunked_body_is_415(service, admin):
    body = json.dumps({"slug": unique("ct"), "name": "x"}).encode()
    with unchanged(service):
        response = admin.post("/api/v1/apps", content=iter([body]), headers={"Content-Type": "text/plain"})
        assert "content-length" not in response.request.headers
        envelope(response, 415, "unsupported_media_type")


def test_json_with_charset_and_suffix_types_are_accepted(admin):
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        slug = unique("ct")
        response = admin.post("/api/v1/apps", content=json.dumps({"slug": slug, "name": "x"}), headers={"Content-Type": content_type})
        assert response.status_code == 201, response.text


# -- references, duplicates, routes --------------------------------------------


def test_role_with_a_permission_the_app_lacks(service, admin, world, make):
    make.app(permissions=("billing:export",))  # another app has it; this one does not
    with unchanged(service):
        response = admin.post(
            f"/api/v1/apps/{world.app}/roles", json={"slug": "r", "name": "R", "permissions": ["users.read", "billing:export"]}
        )
        assert envelope(response, 422, "unknown_permission") == {"app": world.app, "permissions": ["billing:export"]}
        response = admin.patch(f"/api/v1/apps/{world.app}/roles/{world.role}", json={"permissions": ["nope", "zzz"]})
        assert envelope(response, 422, "unknown_permission") == {"app": world.app, "permissions": ["nope", "zzz"]}


@pytest.mark.parametrize(
    "method, path, body, code",
    [
        ("POST", "/api/v1/keys", {"name": "k", "app": "{new}"}, "app_not_found"),
        ("POST", "/api/v1/apps/{new}/roles", {"slug": "r", "name": "R"}, "app_not_found"),
        ("POST", "/api/v1/apps/{new}/permissions", {"slug": "p"}, "app_not_found"),
        ("PUT", "/api/v1/apps/{app}/members/{new}@example.com/roles/{role}", None, "user_not_found"),
        ("PUT", "/api/v1/apps/{app}/members/{email}/roles/{new}", None, "role_not_found"),
        ("PATCH", "/api/v1/users/{new}@example.com", {"name": "x"}, "user_not_found"),
        ("PATCH", "/api/v1/apps/{app}/roles/{new}", {"name": "x"}, "role_not_found"),
        ("DELETE", "/api/v1/apps/{app}/permissions/{new}", None, "permission_not_found"),
        ("DELETE", "/api/v1/apps/{app}/roles/{new}", None, "role_not_found"),
        ("GET", "/api/v1/keys/{absent}", None, "key_not_found"),
        ("GET", "/api/v1/keys/key_0000000000000000", None, "key_not_found"),
        ("PATCH", "/api/v1/keys/{absent}", {"name": "x"}, "key_not_found"),
        ("POST", "/api/v1/keys/{absent}/rotate", {"grace": "0s"}, "key_not_found"),
        ("DELETE", "/api/v1/keys/{absent}", None, "key_not_found"),
        # An id of another shape is no key id: no route has it (key ids are key_ + 16 base62).
        ("GET", "/api/v1/keys/key_{new}", None, "not_found"),
        ("PATCH", "/api/v1/keys/nonsense", {"name": "x"}, "not_found"),
        ("DELETE", "/api/v1/keys/key_0000000000000000x", None, "not_found"),
    ],
)
def test_unknown_reference_is_404(service, admin, world, method, path, body, code):
    with unchanged(service):
        kwargs = {} if body is None else {"json": fill(body, world)}
        envelope(admin.request(method, fill(path, world), **kwargs), 404, code)


def test_duplicate_creates_are_409(service, admin, world):
    cases = [
        ("/api/v1/apps", {"slug": world.app, "name": "Again"}, {"app": world.app}),
        (f"/api/v1/apps/{world.app}/permissions", {"slug": "users.read"}, {"app": world.app, "permission": "users.read"}),
        (f"/api/v1/apps/{world.app}/roles", {"slug": world.role, "name": "Again"}, {"app": world.app, "role": world.role}),
        ("/api/v1/users", {"email": world.email}, {"email": world.email}),
        ("/api/v1/users", {"email": world.email.upper()}, {"email": world.email}),
    ]
    for path, body, details in cases:
        with unchanged(service):
            assert envelope(admin.post(path, json=body), 409, "conflict") == details, path
    # The originals are untouched.
    assert admin.get(f"/api/v1/apps/{world.app}").json()["name"] == world.app.title()
    assert admin.get(f"/api/v1/apps/{world.app}/roles/{world.role}").json()["name"] == "Viewer"


@pytest.mark.parametrize(
    "method, path",
    [("GET", "/api/v1/nope"), ("GET", "/nope"), ("POST", "/api/v1/apps/x/nope"), ("GET", "/api/v2/apps"), ("DELETE", "/api")],
)
def test_unknown_route_is_404_envelope(service, admin, method, path):
    with unchanged(service):
        envelope(admin.request(method, path, json={} if method == "POST" else None), 404, "not_found")


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("PUT", "/api/v1/apps", {"GET", "POST"}),
        ("DELETE", "/api/v1/users", {"GET", "POST"}),
        ("POST", "/api/v1/apps/{app}", {"GET", "PATCH", "DELETE"}),
        ("GET", "/api/v1/keys/{key}/rotate", {"POST"}),
        ("PATCH", "/api/v1/apps/{app}/permissions/users.read", {"DELETE"}),
        ("GET", "/api/v1/apps/{app}/members/{email}/roles/{role}", {"PUT", "DELETE"}),
        # "lookup" is no key id: only POST is served there (once GET, PATCH, DELETE too, by /keys/{key_id}).
        ("GET", "/api/v1/keys/lookup", {"POST"}),
        ("PATCH", "/api/v1/keys/lookup", {"POST"}),
        ("DELETE", "/api/v1/keys/lookup", {"POST"}),
        ("PUT", "/api/v1/keys/{key}", {"GET", "PATCH", "DELETE"}),
    ],
)
def test_wrong_method_is_405_envelope(service, admin, world, method, path, allowed):
    with unchanged(service):
        response = admin.request(method, fill(path, world), json={} if method in ("POST", "PUT", "PATCH") else None)
        envelope(response, 405, "method_not_allowed")
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


@pytest.mark.parametrize(
    "method, path, params",
    [
        ("GET", "/api/v1/users", {"q": "a\u0000"}),
        ("GET", "/api/v1/audit", {"actor": "\u0000"}),
        ("GET", "/api/v1/users/a%00b@example.com", {}),
        ("DELETE", "/api/v1/apps/a%00b", {}),
        ("GET", "/api/v1/authz/a%00b@example.com", {"app": "x"}),
    ],
)
def test_nul_in_the_url_is_400(service, admin, method, path, params):
    with unchanged(service):
        envelope(admin.request(method, path, params=params), 400, "bad_request")


def test_unauthenticated_write_changes_nothing(service):
    with unchanged(service), service.anonymous() as client:
        envelope(client.post("/api/v1/apps", json={"slug": unique("anon"), "name": "x"}), 401, "unauthorized")


# -- 500 ----------------------------------------------------------------------


def test_server_fault_is_500_without_traceback(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'fault.db'}"), run_migrations=True)

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals: Traceback lives in the log only")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    async def call():
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom")

    try:
        response = asyncio.run(call())
    finally:
        app.state.runtime.engine.dispose()
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": "internal server error; see the service log for the request id",
            "details": {},
        }
    }
    for leak in ("Traceback", "RuntimeError", "secret internals", "boom", 'File "'):
        assert leak not in response.text


def test_times_in_the_future_are_fine(admin, world):
    """Control for the past-expiry cases above: the same requests with a future time succeed."""
    soon = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    assert admin.post("/api/v1/keys", json={"name": "k", "app": world.app, "expires_at": soon}).status_code == 201
    assert admin.patch(f"/api/v1/keys/{world.key_id}", json={"expires_at": soon}).status_code == 200
    url = f"/api/v1/apps/{world.app}/members/{world.email}/roles/{world.role}"
    assert admin.put(url, json={"expires_at": soon}).json()["expires_at"] is not None


# -- booleans are booleans -------------------------------------------------------


def boolean_fields(doc: dict) -> list[tuple[str, str, str]]:
    """(method, path, field) of every boolean of every request body, read off the document."""
    return [
        (method, path, name)
        for method, path, model in body_operations(doc)
        for name, prop in resolve(doc, {"$ref": model})["properties"].items()
        if "boolean" in [prop.get("type"), *(b.get("type") for b in prop.get("anyOf", []))]
    ]


def test_the_document_has_boolean_fields(document):
    assert ("POST", "/api/v1/users", "active") in boolean_fields(document)


@pytest.mark.parametrize("value", ["yes", "true", "false", "", 0, 1, 1.0, "1", None])
def test_booleans_in_bodies_are_strict(service, admin, world, document, value):
    for method, path, field in boolean_fields(document):
        body = {"email": f"{unique('strict')}@example.com"} if path == "/api/v1/users" else {}
        with unchanged(service):
            url = path.format(email=world.email)
            response = admin.request(method, url, json={**body, field: value})
            invalid_field(response, field)
    # Control: real booleans pass.
    assert admin.patch(f"/api/v1/users/{world.email}", json={"active": False}).json()["active"] is False


# -- rules in words ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, body, field, words",
    [
        ("/api/v1/apps", {"slug": "Bad_Slug", "name": "x"}, "slug", schemas.SLUG_RULE),
        ("/api/v1/apps/{app}/permissions", {"slug": "Users Read"}, "slug", schemas.PERMISSION_RULE),
        ("/api/v1/users", {"email": "not-an-email"}, "email", schemas.EMAIL_RULE),
        ("/api/v1/keys", {"name": "k", "app": "{app}", "expires_in": "soon"}, "expires_in", schemas.DURATION_RULE),
    ],
)
def test_pattern_errors_say_what_is_allowed_in_words(service, admin, world, path, body, field, words):
    with unchanged(service):
        details = envelope(admin.post(fill(path, world), json=fill(body, world)), 422, "validation_error")
    [error] = [f for f in details["fields"] if f["field"] == field]
    assert error["message"] == f"should be {words}"
    assert "pattern" not in error["message"] and "^" not in error["message"]


def test_the_dashboard_validating_locally_reads_the_same_words():
    with pytest.raises(schemas.ValidationError) as caught:
        schemas.AppCreate(slug="Bad_Slug", name="x")
    assert caught.value.errors()[0]["msg"] == f"should be {schemas.SLUG_RULE}"
    # The JSON schema keeps the pattern for clients and schemathesis.
    assert schemas.AppCreate.model_json_schema()["properties"]["slug"]["pattern"] == schemas.SLUG_PATTERN


# -- the admin token goes in Authorization ------------------------------------------------


def test_admin_token_in_x_api_key_is_refused(service, admin, world):
    with unchanged(service), service.client(token="", **{"X-API-Key": service.superadmin}) as client:
        for response in (client.get("/api/v1/apps"), client.post("/api/v1/apps", json={"slug": unique("xk"), "name": "x"})):
            details = envelope(response, 401, "unauthorized")
            assert details == {"reason": "wrong_header"}
            assert "Authorization: Bearer" in response.json()["error"]["message"]
    # /auth/validate keeps taking either header (DESIGN).
    with service.anonymous() as client:
        validated = client.get("/api/v1/auth/validate", headers={"X-API-Key": service.superadmin})
    assert validated.status_code == 200 and validated.json()["key"]["id"] == service.superadmin_id


@pytest.mark.parametrize("path", ["/api/v1/apps", "/api/v1/auth/validate"])
def test_two_different_keys_are_refused(service, path):
    """Which one was meant? Neither is guessed; the same key in both headers is one key."""
    with service.client(**{"X-API-Key": keys.mint("app")}) as both:
        details = envelope(both.get(path), 401, "unauthorized")
    assert details == {"reason": "two_keys"}
    with service.client(**{"X-API-Key": service.superadmin}) as same:
        assert same.get(path).status_code == 200
