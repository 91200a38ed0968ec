"""``GET /api/v1/scopes/examples?path=...&limit=N``: real resource paths a scope path matches.

The scope editor calls it as the operator types: the answer names paths of this
organisation that ``scopes.matches`` the pattern, only those the caller's token may
read, one of each kind in turn; every query it makes is bounded.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import event

from pepyhat import scopes
from pepyhat.service.actor import Actor
from pepyhat.service.examples import KINDS, MAX_VARIANTS, scope_examples
from pepyhat.store.db import make_sessionmaker
from tests.service.conftest import unique

URL = "/api/v1/scopes/examples"


@dataclass
class Org:
    crm: str  # the app a delegated token administers
    wiki: str  # another app
    member: str  # holds viewer in crm and in wiki
    crm_key: str
    wiki_key: str
    roles: set[str]
    permissions: set[str]


@pytest.fixture
def org(make) -> Org:
    roles = {"viewer": ["users.read"], "editor": ["users.read", "users.write"], "admin": ["users.write"]}
    crm, wiki = make.app(roles=roles), make.app(roles=roles)
    member = make.user()
    make.grant(crm, member, "viewer")
    make.grant(wiki, member, "viewer")
    return Org(crm, wiki, member, make.key(crm)["id"], make.key(wiki)["id"], set(roles), {"users.read", "users.write"})


def examples(client, path: str, **params) -> tuple[list[str], bool]:
    response = client.get(URL, params={"path": path, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "has_more"}, body
    assert all(scopes.matches(path, p) for p in body["data"]), body  # nothing the pattern does not match
    assert len(body["data"]) == len(set(body["data"])), body
    return body["data"], body["has_more"]


def kind_of(path: str) -> str:
    """Which kind of resource a path is (DESIGN, "Resource paths")."""
    parts = path.split("/")
    if parts[0] == "apps":
        return "app" if len(parts) == 2 else parts[2]
    return parts[0]


def tails(paths, prefix: str) -> set[str]:
    return {p.removeprefix(prefix) for p in paths if p.startswith(prefix)}


# -- what a pattern matches ---------------------------------------------------------


def test_an_apps_every_resource(admin, org):
    """``apps/crm/**``: the app, then one of each kind in turn; with room, all of them."""
    first, more = examples(admin, f"apps/{org.crm}/**")
    assert [kind_of(p) for p in first] == ["app", "roles", "permissions", "members", "keys"]
    assert first[0] == f"apps/{org.crm}" and more is True

    every, _ = examples(admin, f"apps/{org.crm}/**", limit=50)  # (every user's authz path is one)
    assert all(p == f"apps/{org.crm}" or p.startswith(f"apps/{org.crm}/") for p in every)
    assert tails(every, f"apps/{org.crm}/roles/") == org.roles
    assert tails(every, f"apps/{org.crm}/permissions/") == org.permissions
    assert tails(every, f"apps/{org.crm}/members/") == {org.member}
    assert tails(every, f"apps/{org.crm}/keys/") == {org.crm_key}
    assert tails(every, f"apps/{org.crm}/authz/")  # users the data plane would answer for


def test_every_apps_authz(admin, org):
    found, more = examples(admin, "apps/*/authz/**")
    assert len(found) == 5 and more is True  # the default limit
    for path in found:
        _, slug, authz, email = path.split("/")
        assert authz == "authz"
        assert admin.get(f"/api/v1/apps/{slug}").status_code == 200
        assert admin.get(f"/api/v1/users/{email}").status_code == 200
    # One user in every app: as many apps as asked for, and more (crm and wiki at least) exist.
    mine, more = examples(admin, f"apps/*/authz/{org.member}", limit=2)
    assert len({p.split("/")[1] for p in mine}) == 2 and more is True
    assert all(p.endswith(f"/authz/{org.member}") for p in mine)
    assert examples(admin, f"apps/{org.crm}/authz/{org.member}") == ([f"apps/{org.crm}/authz/{org.member}"], False)


def test_users(admin, make, org):
    for _ in range(8):
        make.user()
    found, more = examples(admin, "users/*", limit=7)
    assert len(found) == 7 and more is True
    for path in found:
        assert kind_of(path) == "users"
        assert admin.get(f"/api/v1/{path}").status_code == 200
    assert examples(admin, f"users/{org.member}") == ([f"users/{org.member}"], False)


def test_everything_shows_every_kind(admin, org):
    found, more = examples(admin, "**", limit=len(KINDS))
    assert [kind_of(p) for p in found] == ["app", "roles", "permissions", "members", "keys", "authz", "users", "tokens", "audit"]
    assert more is True
    assert examples(admin, "*", limit=len(KINDS)) == (found, more)  # "*" alone matches everything too


@pytest.mark.parametrize(
    "literal",
    ["apps/{crm}", "apps/{crm}/roles/editor", "apps/{crm}/permissions/users.write", "apps/{crm}/members/{member}",
     "apps/{crm}/keys/{crm_key}", "apps/{crm}/authz/{member}", "users/{member}", "audit"],
)
def test_a_literal_path_is_its_own_example(admin, org, literal):
    path = literal.format(**vars(org))
    assert examples(admin, path) == ([path], False)


def test_a_token_is_found_by_its_path(admin, make):
    token = make.key(capabilities=["apps.read"], scopes=[{"path": "apps/**", "operations": ["read"]}])
    assert examples(admin, f"tokens/{token['id']}") == ([f"tokens/{token['id']}"], False)
    assert examples(admin, f"apps/*/keys/{token['id']}") == ([], False)  # a token is no app's key


@pytest.mark.parametrize(
    "pattern",
    ["apps/{nowhere}/**", "nothing/**", "apps/{crm}/roles/nobody", "apps/{crm}/keys/key_0000000000000000",
     "users/{nowhere}@example.com", "apps/{crm}/roles/editor/extra", "audit/**/x", "apps/{crm}/members/*/roles/*"],
)
def test_a_pattern_matching_nothing(admin, org, pattern):
    assert examples(admin, pattern.format(nowhere=unique("nowhere"), **vars(org))) == ([], False)


def test_has_more_is_exact_when_everything_was_seen(admin, org):
    roles = f"apps/{org.crm}/roles/*"
    assert examples(admin, roles, limit=2) == ([f"apps/{org.crm}/roles/admin", f"apps/{org.crm}/roles/editor"], True)
    assert examples(admin, roles, limit=3)[1] is False
    found, more = examples(admin, roles, limit=50)
    assert tails(found, f"apps/{org.crm}/roles/") == org.roles and more is False


def test_what_the_queries_cannot_narrow_is_checked_path_by_path(admin, org):
    """``**/crm/**``: crm may be any segment, so roles of every app are read; only crm's are shown."""
    found, _ = examples(admin, f"**/{org.crm}/**", limit=50)
    assert f"apps/{org.crm}" in found
    assert all(org.crm in p.split("/") for p in found)


def test_a_star_in_an_email_is_a_literal(admin, make):
    starred = make.user(f"x*{unique('y')}@example.com")
    assert examples(admin, f"users/{starred}") == ([f"users/{starred}"], False)
    assert examples(admin, "users/x*") == ([], False)  # a partial wildcard is a literal: no user is "x*"


# -- only what the caller may read --------------------------------------------------


def test_a_delegated_token_sees_its_app_alone(service, make, org):
    token = make.key(
        capabilities=["apps.read", "users.read", "keys.read"],
        scopes=[{"path": f"apps/{org.crm}/**", "operations": ["*"]}],
    )["key"]
    with service.client(token) as client:
        everything, _ = examples(client, "**", limit=50)
        assert everything and all(p == f"apps/{org.crm}" or p.startswith(f"apps/{org.crm}/") for p in everything)
        assert not [p for p in everything if org.wiki in p]
        assert tails(everything, f"apps/{org.crm}/roles/") == org.roles

        roles, _ = examples(client, "apps/*/roles/*", limit=50)
        assert {p.split("/")[1] for p in roles} == {org.crm}
        assert examples(client, f"apps/{org.wiki}/**") == ([], False)
        assert examples(client, "users/*") == ([], False)
        assert examples(client, f"apps/*/members/{org.member}") == ([f"apps/{org.crm}/members/{org.member}"], False)


def test_a_scope_naming_one_path_shows_that_path(service, make, org):
    token = make.key(capabilities=["users.read", "keys.read"], scopes=[{"path": f"users/{org.member}", "operations": ["read"]}])
    with service.client(token["key"]) as client:
        assert examples(client, "**", limit=50) == ([f"users/{org.member}"], False)


def test_many_scopes_are_asked_at_once_and_checked_path_by_path(service, make, org):
    """Past MAX_VARIANTS scopes, one query asks for all their values: (crm or wiki) x (any of their
    users), wider than the scopes, so each path found is checked against the token."""
    users = [make.user() for _ in range(MAX_VARIANTS + 1)]
    for email in users:
        make.grant(org.crm, email, "viewer")
        make.grant(org.wiki, email, "viewer")
    reach = [f"apps/{org.crm if i % 2 else org.wiki}/members/{email}" for i, email in enumerate(users)]
    token = make.key(capabilities=["users.read", "keys.read"], scopes=[{"path": p, "operations": ["read"]} for p in reach])
    with service.client(token["key"]) as client:
        found, more = examples(client, "apps/*/members/*", limit=50)
        assert (sorted(found), more) == (sorted(reach), False)
        assert examples(client, "users/*") == ([], False)


def test_write_only_scopes_read_nothing(service, make, org):
    token = make.key(capabilities=["keys.read", "apps.read"], scopes=[
        {"path": "**", "operations": ["write"]}, {"path": f"apps/{org.crm}", "operations": ["read"]},
    ])
    with service.client(token["key"]) as client:
        assert examples(client, "**", limit=50) == ([f"apps/{org.crm}"], False)


def test_capabilities_decide_the_kinds(service, make, org):
    """keys.read alone: keys and tokens, no user's email (users.read), no role (apps.read), no audit."""
    token = make.key(capabilities=["keys.read"], scopes=[{"path": "**", "operations": ["read"]}])
    with service.client(token["key"]) as client:
        found, _ = examples(client, "**", limit=50)
        assert {kind_of(p) for p in found} == {"keys", "tokens"}
        assert examples(client, f"apps/{org.crm}/**") == ([f"apps/{org.crm}/keys/{org.crm_key}"], False)


def test_the_embedded_operator_sees_everything(service, org):
    """The local operator (every capability, no key), through the operation as the API calls it."""
    with make_sessionmaker(service.engine)() as session:
        answer = scope_examples(session, Actor.local("operator"), f"apps/{org.crm}/members/*")
    assert (answer.data, answer.has_more) == ([f"apps/{org.crm}/members/{org.member}"], False)


# -- refused ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"path": "apps//crm"}, {"path": "/apps"}, {"path": "apps/"}, {"path": "apps/a b"}, {"path": ""},
        {"path": "a" * 513}, {"path": "apps/" + "x" * 129}, {}, {"path": "**", "limit": 0}, {"path": "**", "limit": 51},
        {"path": "**", "limit": "five"},
    ],
    ids=["double-slash", "leading-slash", "trailing-slash", "space", "empty", "too-long", "long-segment",
         "missing", "limit-0", "limit-51", "limit-text"],
)
def test_an_invalid_request_is_a_422_naming_the_field(admin, params):
    response = admin.get(URL, params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    field = "query.limit" if "limit" in params else "query.path"
    assert [f["field"] for f in error["details"]["fields"]] == [field]


def test_the_same_rule_as_a_keys_scope(admin, make):
    """A path the endpoint refuses is one a key's scope refuses, in the same words."""
    bad = "apps//crm"
    message = admin.get(URL, params={"path": bad}).json()["error"]["details"]["fields"][0]["message"]
    created = admin.post("/api/v1/keys", json={"name": "x", "kind": "admin", "scopes": [{"path": bad, "operations": ["read"]}]})
    assert created.status_code == 422
    assert created.json()["error"]["details"]["fields"][0]["message"] == message


def test_no_keys_read_no_examples(service, make):
    token = make.key(capabilities=["apps.read", "users.read"], scopes=[{"path": "**", "operations": ["read"]}])
    with service.client(token["key"]) as client:
        response = client.get(URL, params={"path": "**"})
    assert response.status_code == 403, response.text
    assert response.json()["error"]["details"]["required_capability"] == "keys.read"


# -- bounded ------------------------------------------------------------------------


class Statements:
    """The SELECTs this thread sends to the engine, with their parameters."""

    def __init__(self, engine) -> None:
        self.engine, self.seen, self.thread = engine, [], threading.get_ident()

    def _record(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if threading.get_ident() == self.thread and statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))

    def __enter__(self) -> "Statements":
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def _run(service, pattern: str, limit: int = 5):
    with make_sessionmaker(service.engine)() as session, Statements(service.engine) as statements:
        answer = scope_examples(session, Actor.local("operator"), pattern, limit)
    return answer, statements.seen


@pytest.mark.parametrize("pattern", ["**", "apps/*/authz/**", "apps/*/members/*", "**/someone@example.com/**", "users/*"])
def test_every_query_has_a_limit_and_there_are_few(service, org, pattern):
    answer, statements = _run(service, pattern, limit=50)
    assert statements
    assert all(" LIMIT " in sql.upper() for sql, _ in statements), statements
    assert len(statements) <= 12 * len(KINDS)  # a dozen at most per kind of resource


def test_the_patterns_literals_narrow_the_queries(service, org):
    """``apps/crm/**`` asks for crm's rows: crm is a parameter of the queries, and a handful of them suffice."""
    answer, statements = _run(service, f"apps/{org.crm}/**")
    assert answer.data[0] == f"apps/{org.crm}"
    by_app = [sql for sql, parameters in statements if org.crm in _values(parameters)]
    assert by_app, statements
    assert len(statements) <= 2 * len(KINDS)  # the apps list with crm alone, then crm's children

    answer, statements = _run(service, f"users/{org.member}")
    assert answer.data == [f"users/{org.member}"]
    [(sql, parameters)] = statements
    assert org.member in _values(parameters)


def _values(parameters) -> list:
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters or ())
