"""Who may call which admin endpoint.

``CONTRACT`` below is written by hand from DESIGN.md, not read from
``POLICY``: ``POLICY`` is checked against it, and the matrix is driven by it.
Every admin route is called against real objects (an app with a permission, a
role, a member and an app key) by tokens that hold exactly the contract's
capability and scope, or lack exactly one thing: the capability, the
operation, or a scope reaching the target app.  Then come the capabilities
that are easy to confuse (grants.write and users.write, keys.manage and
keys.read), cross-app leaks in list endpoints, and authentication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import get_args

import httpx
import pytest
from fastapi.routing import APIRoute

from pepyhat import keys, schemas, scopes
from pepyhat.api import admin_routes
from pepyhat.api.auth import enforce, request_context
from pepyhat.api.errors import ApiError
from pepyhat.api.policy import POLICY
from pepyhat.embedded import build_embedded_service
from pepyhat.schemas import CAPABILITIES
from pepyhat.service.actor import Actor, Context
from tests.servers import ServerThread, wait_for
from tests.service.conftest import Factory, unique

ROUTES = sorted(admin_routes(), key=lambda route: route.name)
ROUTE = {route.name: route for route in ROUTES}
EVERYTHING = [{"path": "**", "operations": ["*"]}]
OPERATIONS = {"read", "write", "delete"}

# DESIGN.md, "Admin API" and "Scopes and capabilities": route -> (capability, operation,
# resource path).  A path names the route's parameters ({slug}), body fields ({body.slug})
# and query parameters ({query.app}).  A key's path depends on its kind: written here for
# an app key (an admin token's is tokens/{key_id}, and lists and creates cover both).
CONTRACT: dict[str, tuple[str, str, str]] = {
    "list_apps": ("apps.read", "read", "apps/*"),
    "create_app": ("apps.write", "write", "apps/{body.slug}"),
    "get_app": ("apps.read", "read", "apps/{slug}"),
    "update_app": ("apps.write", "write", "apps/{slug}"),
    "delete_app": ("apps.write", "delete", "apps/{slug}"),
    "list_permissions": ("apps.read", "read", "apps/{slug}/permissions/*"),
    "create_permission": ("apps.write", "write", "apps/{slug}/permissions/{body.slug}"),
    "delete_permission": ("apps.write", "delete", "apps/{slug}/permissions/{perm}"),
    "list_roles": ("apps.read", "read", "apps/{slug}/roles/*"),
    "create_role": ("apps.write", "write", "apps/{slug}/roles/{body.slug}"),
    "get_role": ("apps.read", "read", "apps/{slug}/roles/{role}"),
    "update_role": ("apps.write", "write", "apps/{slug}/roles/{role}"),
    "delete_role": ("apps.write", "delete", "apps/{slug}/roles/{role}"),
    "list_members": ("users.read", "read", "apps/{slug}/members/*"),
    "put_grant": ("grants.write", "write", "apps/{slug}/members/{email}"),
    "delete_grant": ("grants.write", "delete", "apps/{slug}/members/{email}"),
    "access_review": ("users.read", "read", "apps/{slug}/members/*"),
    "list_users": ("users.read", "read", "users/*"),
    "create_user": ("users.write", "write", "users/{body.email}"),
    "get_user": ("users.read", "read", "users/{email}"),
    "update_user": ("users.write", "write", "users/{email}"),
    "delete_user": ("users.write", "delete", "users/{email}"),
    "get_user_access": ("users.read", "read", "users/{email}"),
    "list_keys": ("keys.read", "read", "apps/*/keys/*"),
    "create_key": ("keys.manage", "write", "apps/{body.app}/keys/*"),
    "lookup_key": ("keys.read", "read", "apps/*/keys/*"),
    "get_key": ("keys.read", "read", "apps/{slug}/keys/{key_id}"),
    "update_key": ("keys.manage", "write", "apps/{slug}/keys/{key_id}"),
    "delete_key": ("keys.manage", "delete", "apps/{slug}/keys/{key_id}"),
    "rotate_key": ("keys.manage", "write", "apps/{slug}/keys/{key_id}"),
    "scope_examples": ("keys.read", "read", "**"),  # any read scope; each example is then checked
    "explain": ("authz.explain", "read", "apps/{query.app}/authz/{email}"),
    "list_audit": ("audit.read", "read", "audit"),
}
# Minting or editing a key needs the key's own scopes too (no escalation): for an app key of
# A, its default one.  It reaches no key, so the contract's scope still decides.
GRANTABLE = {"create_key", "update_key", "rotate_key"}


@dataclass
class World:
    """App A (the target) and app B (where scoped tokens live), plus their objects."""

    app: str
    other: str
    member: str  # holds "viewer" in both apps
    key_id: str  # an app key of A
    key: str  # its plaintext
    other_key_id: str  # an app key of B
    token_id: str  # an admin token (a tokens/ resource)
    new_app: str  # slug create_app will use
    new_user: str  # email create_user will use


@pytest.fixture
def world(make: Factory) -> World:
    roles = {"viewer": ["users.read"]}
    app, other = make.app(roles=roles), make.app(roles=roles)
    member = make.user()
    make.grant(app, member, "viewer")
    make.grant(other, member, "viewer")
    key, other_key = make.key(app), make.key(other)
    token = make.key(capabilities=["apps.read"], scopes=[{"path": f"apps/{app}/**", "operations": ["read"]}])
    return World(
        app, other, member, key["id"], key["key"], other_key["id"], token["id"],
        new_app=unique("app"), new_user=f"{unique('new')}@example.com",
    )


def mint(make: Factory, capabilities, scopes) -> str:
    """An admin token minted by the superadmin; returns its plaintext."""
    return make.key(capabilities=sorted(capabilities), scopes=scopes)["key"]


def error(response: httpx.Response) -> dict:
    return response.json()["error"]


# -- requests for every route -------------------------------------------------

PATH_PARAMS = {
    "slug": lambda w: w.app,
    "perm": lambda w: "users.read",
    "role": lambda w: "viewer",
    "email": lambda w: w.member,
    "key_id": lambda w: w.key_id,
}

# A valid body for every route that takes one, so a permitted call succeeds.
BODIES = {
    "create_app": lambda w: {"slug": w.new_app, "name": "New App"},
    "update_app": lambda w: {"name": "Renamed"},
    "create_permission": lambda w: {"slug": "reports.read"},
    "create_role": lambda w: {"slug": "auditor", "name": "Auditor", "permissions": ["users.read"]},
    "update_role": lambda w: {"permissions": ["users.read", "users.write"]},
    "put_grant": lambda w: {"expires_at": (datetime.now(timezone.utc) + timedelta(days=7)).isoformat()},
    "create_user": lambda w: {"email": w.new_user, "name": "New User"},
    "update_user": lambda w: {"name": "Renamed"},
    "create_key": lambda w: {"name": unique("key"), "kind": "app", "app": w.app},
    "lookup_key": lambda w: {"key": w.key},
    "update_key": lambda w: {"name": "renamed"},
    "rotate_key": lambda w: {"grace": "1h"},
}

QUERIES = {
    "delete_app": lambda w: {"force": "true"},  # A has a live key; force so a permitted call succeeds
    "explain": lambda w: {"app": w.app},
    "scope_examples": lambda w: {"path": f"apps/{w.app}/**"},
}

# "some"-mode lists an app-B token may call: they answer 200 with B's rows only.
FILTERED_LISTS = {"list_apps", "list_keys", "lookup_key", "scope_examples"}


def method_of(route: APIRoute) -> str:
    (method,) = route.methods
    return method


def call(client: httpx.Client, route: APIRoute, world: World) -> httpx.Response:
    url = re.sub(r"\{(\w+)\}", lambda m: PATH_PARAMS[m.group(1)](world), route.path_format)
    body = BODIES[route.name](world) if route.name in BODIES else None
    params = QUERIES[route.name](world) if route.name in QUERIES else None
    return client.request(method_of(route), url, json=body, params=params)


def contract_path(name: str, world: World) -> str:
    """The contract's resource path of a call of route ``name`` against ``world``."""
    body = BODIES[name](world) if name in BODIES else {}
    query = QUERIES[name](world) if name in QUERIES else {}

    def value(match: re.Match) -> str:
        source, _, field = match.group(1).rpartition(".")
        return {"body": body, "query": query}[source][field] if source else PATH_PARAMS[field](world)

    return re.sub(r"\{([\w.]+)\}", value, CONTRACT[name][2])


def succeeded(route: APIRoute, response: httpx.Response) -> None:
    assert response.status_code == (route.status_code or 200), response.text


def refused(response: httpx.Response, name: str) -> dict:
    """403 forbidden naming the contract's capability; returns the details."""
    assert response.status_code == 403, response.text
    assert error(response)["code"] == "forbidden", response.text
    assert error(response)["details"]["required_capability"] == CONTRACT[name][0]
    return error(response)["details"]


def test_matrix_covers_every_policy_rule():
    names = [route.name for route in ROUTES]
    assert len(names) == len(set(names)), "two admin routes share a name"
    assert set(names) == set(POLICY) == set(CONTRACT)
    assert all(len(route.methods) == 1 for route in ROUTES)
    takes_body = {route.name for route in ROUTES if method_of(route) in ("POST", "PUT", "PATCH")}
    assert takes_body == set(BODIES), "every write route needs a valid body here"
    assert set(QUERIES) | FILTERED_LISTS <= set(POLICY)
    assert all(POLICY[name].mode == "some" for name in FILTERED_LISTS)


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_policy_is_the_contract(name):
    capability, operation, path = CONTRACT[name]
    rule = POLICY[name]
    assert (rule.capability, rule.operation) == (capability, operation)
    if not callable(rule.paths):  # a key's path is looked up (the matrix below checks those)
        assert path in rule.paths


def test_one_vocabulary():
    """The contract's names, defined once in pepyhat.schemas, agree with each other."""
    assert set(get_args(schemas.Capability)) == set(CAPABILITIES)
    assert all(CAPABILITIES[c] for c in CAPABILITIES), "every capability has its one-line description"
    assert schemas.READ_CAPABILITIES == {c for c in CAPABILITIES if c.endswith((".read", ".explain"))}
    assert set(schemas.KEY_KINDS) == set(keys.PREFIXES) == {"app", "admin"}
    assert [s.model_dump() for s in schemas.SUPERADMIN_SCOPES] == EVERYTHING


# -- the matrix ---------------------------------------------------------------

route_cases = pytest.mark.parametrize("route", ROUTES, ids=[route.name for route in ROUTES])


@route_cases
def test_capability_and_scope_suffice(route, service, make, world):
    """Control: the contract's capability alone, with scopes reaching A, is enough."""
    reach = [f"apps/{world.app}/**", f"apps/{world.new_app}", "users/**", "tokens/**", "audit"]
    token = mint(make, {CONTRACT[route.name][0]}, [{"path": p, "operations": ["*"]} for p in reach])
    with service.client(token) as client:
        succeeded(route, call(client, route, world))


def _exact_scopes(route: APIRoute, world: World, operations) -> list[dict]:
    scopes_ = [{"path": contract_path(route.name, world), "operations": sorted(operations)}]
    if route.name in GRANTABLE:
        scopes_.append({"path": f"apps/{world.app}/authz/**", "operations": ["read"]})
    return scopes_


@route_cases
def test_the_contract_scope_suffices(route, service, make, world):
    """The capability and one scope: the contract's path, the contract's operation alone."""
    capability, operation, _ = CONTRACT[route.name]
    token = mint(make, {capability}, _exact_scopes(route, world, {operation}))
    with service.client(token) as client:
        succeeded(route, call(client, route, world))


@route_cases
def test_other_operations_on_the_path_are_forbidden(route, service, make, world):
    capability, operation, _ = CONTRACT[route.name]
    token = mint(make, {capability}, _exact_scopes(route, world, OPERATIONS - {operation}))
    with service.client(token) as client:
        details = refused(call(client, route, world), route.name)
    assert details["required_scope"]["operation"] == operation


@route_cases
def test_missing_capability_is_forbidden(route, service, make, world):
    token = mint(make, set(CAPABILITIES) - {CONTRACT[route.name][0]}, EVERYTHING)
    with service.client(token) as client:
        details = refused(call(client, route, world), route.name)
    assert details["required_scope"]["operation"] == CONTRACT[route.name][1]


@route_cases
def test_scope_of_another_app_is_forbidden(route, service, make, world):
    """Every capability, but scoped to app B: nothing of app A is reachable."""
    _, operation, _ = CONTRACT[route.name]
    own = f"apps/{world.other}/**"
    token = mint(make, CAPABILITIES, [{"path": own, "operations": ["*"]}])
    with service.client(token) as client:
        response = call(client, route, world)
    if route.name in FILTERED_LISTS:
        assert response.status_code == 200, response.text
        if route.name == "scope_examples":  # asked about A: none of A's paths is B's
            assert response.json()["data"] == []
            return
        field, expected = {
            "list_apps": ("slug", [world.other]),
            "list_keys": ("id", [world.other_key_id]),
            "lookup_key": ("id", []),  # the body looks up A's key
        }[route.name]
        assert [row[field] for row in response.json()["data"]] == expected
        return
    required = refused(response, route.name)["required_scope"]
    assert required["operation"] == operation
    assert not scopes.matches(own, required["path"]), required


@route_cases
def test_no_token_is_unauthorized(route, service, world):
    with service.anonymous() as client:
        response = call(client, route, world)
    assert response.status_code == 401, response.text
    assert error(response)["code"] == "unauthorized"


# -- capabilities that are easy to confuse ------------------------------------


# route -> a capability that must not be enough, and the contract's, which is
CONFUSABLE = [
    ("put_grant", "users.write"),
    ("delete_grant", "users.write"),
    ("create_key", "keys.read"),
    ("update_key", "keys.read"),
    ("delete_key", "keys.read"),
    ("rotate_key", "keys.read"),
]


@pytest.mark.parametrize("name, wrong", CONFUSABLE, ids=[f"{name}-not-{wrong}" for name, wrong in CONFUSABLE])
def test_the_contract_capability_and_no_neighbour(name, wrong, service, make, world):
    """Granting takes grants.write (not users.write); a key write, keys.manage (not keys.read)."""
    reach = [{"path": f"apps/{world.app}/**", "operations": ["*"]}]
    with service.client(mint(make, {wrong}, reach)) as client:
        refused(call(client, ROUTE[name], world), name)
    with service.client(mint(make, {CONTRACT[name][0]}, reach)) as client:
        succeeded(ROUTE[name], call(client, ROUTE[name], world))


# -- no data of another app ---------------------------------------------------


def test_app_scoped_token_lists_only_its_app(service, make, world):
    token = mint(make, CAPABILITIES, [{"path": f"apps/{world.other}/**", "operations": ["*"]}])
    with service.client(token) as client:
        apps = client.get("/api/v1/apps", params={"limit": 1})
        assert apps.status_code == 200, apps.text
        assert [a["slug"] for a in apps.json()["data"]] == [world.other]
        assert apps.json()["has_more"] is False
        assert client.get("/api/v1/apps", params={"q": world.app}).json()["data"] == []

        listed = client.get("/api/v1/keys")
        assert listed.status_code == 200, listed.text
        assert [k["id"] for k in listed.json()["data"]] == [world.other_key_id]
        for params in ({"app": world.app}, {"kind": "admin"}, {"q": world.key_id}):
            response = client.get("/api/v1/keys", params=params)
            assert response.status_code == 200, response.text
            assert response.json()["data"] == [], params

        lookup = client.post("/api/v1/keys/lookup", json={"start": world.key[:10]})
        assert lookup.status_code == 200, lookup.text
        assert lookup.json()["data"] == []

        for resource in ("members", "roles", "permissions"):
            response = client.get(f"/api/v1/apps/{world.app}/{resource}")
            assert response.status_code == 403, response.text
            assert error(response)["code"] == "forbidden"
        for path in (f"/api/v1/apps/{world.app}", f"/api/v1/keys/{world.key_id}", f"/api/v1/keys/{world.token_id}"):
            response = client.get(path)
            assert response.status_code == 403, response.text
            assert error(response)["code"] == "forbidden"


def test_user_access_shows_only_reachable_apps(service, make, world):
    token = mint(
        make,
        ["users.read"],
        [{"path": f"apps/{world.other}/**", "operations": ["read"]}, {"path": "users/**", "operations": ["read"]}],
    )
    with service.client(token) as client:
        response = client.get(f"/api/v1/users/{world.member}/access")
    assert response.status_code == 200, response.text
    assert [a["app"] for a in response.json()["apps"]] == [world.other]


def test_lists_filter_row_by_row(service, make, world):
    """A scope naming one member or one user shows that row alone."""
    outsider = make.user()
    make.grant(world.app, outsider, "viewer")
    token = mint(
        make,
        ["users.read"],
        [
            {"path": f"apps/{world.app}/members/{world.member}", "operations": ["read"]},
            {"path": f"users/{world.member}", "operations": ["read"]},
        ],
    )
    with service.client(token) as client:
        members = client.get(f"/api/v1/apps/{world.app}/members")
        users = client.get("/api/v1/users", params={"limit": 500})
        refused = client.get(f"/api/v1/users/{outsider}")
    assert members.status_code == 200, members.text
    assert [m["email"] for m in members.json()["data"]] == [world.member]
    assert users.status_code == 200, users.text
    assert [u["email"] for u in users.json()["data"]] == [world.member]
    assert refused.status_code == 403, refused.text
    assert error(refused)["code"] == "forbidden"


def test_star_in_an_email_is_not_a_wildcard(service, make, world):
    """Emails may contain '*'; in a resource path it is a literal, never a glob."""
    starred = make.user(f"x*{unique('y')}@example.com")
    token = mint(
        make,
        ["users.read", "users.write", "grants.write"],
        [{"path": f"apps/{world.app}/members/{world.member}", "operations": ["*"]},
         {"path": f"users/{world.member}", "operations": ["*"]}],
    )
    exact = mint(make, ["users.read"], [{"path": f"users/{starred}", "operations": ["read"]}])
    with service.client(token) as client:
        attempts = [
            client.put(f"/api/v1/apps/{world.app}/members/{starred}/roles/viewer"),
            client.get(f"/api/v1/users/{starred}"),
            client.patch(f"/api/v1/users/{starred}", json={"active": False}),
            client.delete(f"/api/v1/users/{starred}"),
            client.post("/api/v1/users", json={"email": f"*{unique('z')}@example.com", "name": "Star"}),
        ]
    for response in attempts:
        assert response.status_code == 403, f"{response.request.method} {response.request.url}: {response.text}"
        assert error(response)["code"] == "forbidden"
    with service.client(exact) as client:
        response = client.get(f"/api/v1/users/{starred}")
    assert response.status_code == 200, response.text


def test_app_keys_and_admin_tokens_are_separate_resources(service, make, world):
    apps_only = mint(make, ["keys.read"], [{"path": "apps/**", "operations": ["read"]}])
    tokens_only = mint(make, ["keys.read"], [{"path": "tokens/**", "operations": ["read"]}])
    with service.client(apps_only) as client:
        assert client.get("/api/v1/keys", params={"kind": "admin"}).json()["data"] == []
        assert client.get(f"/api/v1/keys/{world.token_id}").status_code == 403
        assert client.get(f"/api/v1/keys/{world.key_id}").status_code == 200
    with service.client(tokens_only) as client:
        assert client.get("/api/v1/keys", params={"kind": "app", "app": world.app}).json()["data"] == []
        assert client.get(f"/api/v1/keys/{world.key_id}").status_code == 403
        assert client.get(f"/api/v1/keys/{world.token_id}").status_code == 200


def test_unknown_key_id_is_not_found_before_scope(service, make, world):
    """Key routes look the key up to learn its path; ids are random, so a 404 tells nothing."""
    token = mint(make, CAPABILITIES, [{"path": f"apps/{world.other}/**", "operations": ["*"]}])
    with service.client(token) as client:
        response = client.get(f"/api/v1/keys/key_{'0' * 16}")
    assert response.status_code == 404, response.text
    assert error(response)["code"] == "key_not_found"


# -- authentication -----------------------------------------------------------


def _unauthorized(response: httpx.Response, reason: str | None = None) -> None:
    assert response.status_code == 401, response.text
    assert error(response)["code"] == "unauthorized"
    if reason is not None:
        assert error(response)["details"]["reason"] == reason


def _bad_checksum() -> str:
    token = keys.mint("admin")
    last = "1" if token[-1] != "1" else "2"
    return token[:-1] + last


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="none"),
        pytest.param("Bearer", id="bearer-without-token"),
        pytest.param("Basic dXNlcjpwYXNz", id="basic"),
        pytest.param("Bearer not-a-key", id="garbage"),
        pytest.param("Bearer pha_short", id="short"),
        pytest.param(f"Bearer {_bad_checksum()}", id="bad-checksum"),
        pytest.param(f"Bearer {keys.mint('admin')}", id="unknown"),
    ],
)
def test_bad_credentials_are_unauthorized(service, authorization):
    headers = {"Authorization": authorization} if authorization is not None else {}
    with service.anonymous() as client:
        response = client.get("/api/v1/apps", headers=headers)
    _unauthorized(response)


def test_revoked_token_is_unauthorized(service, admin, make):
    created = make.key(capabilities=["apps.read"], scopes=EVERYTHING)
    with service.client(created["key"]) as client:
        assert client.get("/api/v1/apps").status_code == 200
        revoked = admin.delete(f"/api/v1/keys/{created['id']}")
        assert revoked.status_code == 200, revoked.text
        _unauthorized(client.get("/api/v1/apps"), "key_revoked")


def test_expired_token_is_unauthorized(service, admin, make):
    created = make.key(capabilities=["apps.read"], scopes=EVERYTHING)
    # Rotating with no grace expires the old token at once (no clock games needed).
    rotated = admin.post(f"/api/v1/keys/{created['id']}/rotate", json={"grace": "0s"})
    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["previous"]["status"] == "expired"
    with service.client(created["key"]) as client:
        _unauthorized(client.get("/api/v1/apps"), "key_expired")
    with service.client(rotated.json()["key"]) as client:
        assert client.get("/api/v1/apps").status_code == 200


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
def test_app_key_is_unauthorized_on_admin_api(service, make, header):
    app_key = make.key(make.app(), scopes=EVERYTHING)["key"]
    value = f"Bearer {app_key}" if header == "Authorization" else app_key
    with service.anonymous() as client:
        response = client.get("/api/v1/apps", headers={header: value})
    _unauthorized(response, "invalid_api_key" if header == "Authorization" else "wrong_header")


# -- values no path can hold ---------------------------------------------------

MISSING = object()


@pytest.mark.parametrize(
    "slug", ["*", "**", "a/b", " crm", "crm ", "", 5, None, MISSING], ids=lambda v: "missing" if v is MISSING else repr(v)
)
def test_a_name_no_path_can_hold_is_left_to_validation(service, make, slug):
    """POST /apps with a slug that is no path segment (or a wildcard): the scope check asks only
    that the token reach some app, and validation answers 422; a token reaching no app gets 403."""
    body = {"name": "Unusable"} | ({} if slug is MISSING else {"slug": slug})
    some_app = mint(make, {"apps.write"}, [{"path": f"apps/{unique('only')}", "operations": ["*"]}])
    no_app = mint(make, {"apps.write"}, [{"path": "users/**", "operations": ["*"]}])
    with service.client(some_app) as client:
        response = client.post("/api/v1/apps", json=body)
    assert response.status_code == 422 and error(response)["code"] == "validation_error", response.text
    with service.client(no_app) as client:
        response = client.post("/api/v1/apps", json=body)
    assert response.status_code == 403 and error(response)["code"] == "forbidden", response.text


def test_emails_in_paths_are_checked_in_lower_case(service, make):
    email = make.user(f"{unique('mixed')}@example.com")
    token = mint(make, {"users.read"}, [{"path": f"users/{email}", "operations": ["read"]}])
    with service.client(token) as client:
        assert client.get(f"/api/v1/users/{email.upper()}").status_code == 200


def test_slugs_in_paths_are_checked_as_written(service, make):
    slug = make.app()
    token = mint(make, {"apps.read"}, [{"path": f"apps/{slug}", "operations": ["read"]}])
    with service.client(token) as client:
        assert client.get(f"/api/v1/apps/{slug}").status_code == 200
        response = client.get(f"/api/v1/apps/{slug.upper()}")
    assert response.status_code == 403 and error(response)["code"] == "forbidden", response.text


def test_enforce_refuses_an_app_key_whatever_it_holds():
    """The admin API's rules never apply to an app key, even one that somehow got this far."""
    app_key = Actor("key_0000000000000000", "gateway", "app", frozenset(CAPABILITIES), schemas.SUPERADMIN_SCOPES, "crm")
    with pytest.raises(ApiError) as refused_:
        enforce(POLICY["list_apps"], app_key, request=None, body={}, session=None)
    assert (refused_.value.status, refused_.value.code, refused_.value.message) == (
        401, "unauthorized", "the admin API takes admin tokens (pha_...)"
    )


def test_the_audit_notes_the_request_id_and_the_client(service, admin, make):
    slug = unique("ctx")
    created = admin.post("/api/v1/apps", json={"slug": slug, "name": "Context"}, headers={"X-Request-ID": f"req-{slug}"})
    assert created.status_code == 201, created.text
    events = admin.get("/api/v1/audit", params={"target": f"apps/{slug}"}).json()["data"]
    assert [(e["action"], e["request_id"], e["client"]) for e in events] == [("app.create", f"req-{slug}", "127.0.0.1")]


def test_a_request_without_state_or_client_has_an_empty_context():
    """Over a Unix socket there is no client address; before the middleware, no request id."""
    assert request_context(SimpleNamespace(scope={}, client=None)) == Context(None, None)


# -- where the token is --------------------------------------------------------


def test_bearer_may_be_followed_by_more_than_one_space(service, make):
    token = mint(make, {"apps.read"}, EVERYTHING)
    with service.anonymous() as client:
        assert client.get("/api/v1/apps", headers={"Authorization": f"Bearer   {token}"}).status_code == 200


def test_two_different_keys_are_refused_and_the_same_one_twice_is_not(service, make):
    token, other = mint(make, {"apps.read"}, EVERYTHING), mint(make, {"apps.read"}, EVERYTHING)
    with service.anonymous() as client:
        both = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}", "X-API-Key": other})
        same = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {token}", "X-API-Key": token})
    assert (both.status_code, error(both)) == (401, {
        "code": "unauthorized",
        "message": "send one key, in Authorization: Bearer or in X-API-Key, not two",
        "details": {"reason": "two_keys"},
    })
    assert both.headers["cache-control"] == "no-store"
    assert same.status_code == 200, same.text


def test_x_api_key_on_the_admin_api_says_where_the_token_goes(service, make):
    token = mint(make, {"apps.read"}, EVERYTHING)
    with service.anonymous() as client:
        response = client.get("/api/v1/apps", headers={"X-API-Key": token})
    assert (response.status_code, error(response)) == (401, {
        "code": "unauthorized",
        "message": "the admin API takes its token in the Authorization header (Authorization: Bearer pha_...), not X-API-Key",
        "details": {"reason": "wrong_header"},
    })


def test_the_embedded_operator_acts_without_a_token_and_a_token_still_counts(tmp_path):
    """The dashboard's embedded service: no token acts as the operator; a presented token is checked."""
    app = build_embedded_service(tmp_path / "embedded.db", "operator@laptop")
    with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        created = client.post("/api/v1/apps", json={"slug": "local", "name": "Local"})
        assert created.status_code == 201, created.text
        (event,) = client.get("/api/v1/audit", params={"target": "apps/local"}).json()["data"]
        assert (event["actor_id"], event["actor_name"]) == (None, "operator@laptop")
        stranger = client.get("/api/v1/apps", headers={"Authorization": f"Bearer {keys.mint('admin')}"})
    _unauthorized(stranger, "invalid_api_key")


@pytest.mark.parametrize(
    "authorization, message",
    [
        (None, "missing admin token: send Authorization: Bearer pha_..."),
        ("Basic dXNlcjpwYXNz", "missing admin token: send Authorization: Bearer pha_..."),
        (f"Bearer {keys.mint('admin')}", "invalid API key: unknown key"),
        (f"Bearer {keys.mint('app')}", "invalid API key: an admin key is required here"),
    ],
    ids=["none", "basic", "unknown", "app-key"],
)
def test_each_refusal_says_why(service, authorization, message):
    headers = {"Authorization": authorization} if authorization else {}
    with service.anonymous() as client:
        response = client.get("/api/v1/apps", headers=headers)
    assert response.status_code == 401 and error(response)["message"] == message, response.text


def test_a_token_s_use_is_noted_in_the_access_log_and_on_the_key(service, admin, make):
    created = make.key(capabilities=["apps.read"], scopes=EVERYTHING)
    request_id = unique("used")
    before = datetime.now(timezone.utc).replace(microsecond=0)
    with service.client(created["key"], **{"X-Request-ID": request_id}) as client:
        assert client.get("/api/v1/apps").status_code == 200
    (entry,) = service.access_log(request_id)
    assert entry["key_id"] == created["id"]
    used = wait_for(lambda: admin.get(f"/api/v1/keys/{created['id']}").json()["last_used_at"], "last_used_at", 10)
    assert before <= datetime.fromisoformat(used) <= datetime.now(timezone.utc)


@pytest.mark.parametrize("body", [[{"slug": "x"}], "apps", 5], ids=["list", "string", "number"])
def test_a_body_that_is_no_object_is_a_validation_error(service, admin, body):
    for url in ("/api/v1/apps", "/api/v1/keys"):
        response = admin.post(url, json=body)
        assert response.status_code == 422 and error(response)["code"] == "validation_error", response.text
