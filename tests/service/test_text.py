"""Hostile text: control characters and bidi overrides are refused in every string a request carries.

The fields are not listed here: they are read off the service's own OpenAPI
document (every request body, every string in it, nested ones included; every
string query parameter), so a field added tomorrow is tested tomorrow.  And text
that is already in the database (written before the rule, or by hand) is served
and edited around without a fault.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update

from pepyhat import schemas
from pepyhat.store.tables import App, Grant, Key, Permission, Role, User
from tests.service.openapi_walk import body_operations, document, strings, valid, with_value  # noqa: F401  (fixture)
from tests.service.test_bad_input import World, envelope, unchanged, world  # noqa: F401  (fixture)

# Every character the rule forbids, by class; each is tried in every string.
FORBIDDEN = {
    "C0": ["\x00", "\x07", "\t", "\n", "\r", "\x1b", "\x1f"],
    "C1": ["\x7f", "\x80", "\x85", "\x9b", "\x9f"],
    "bidi override": ["\u202a", "\u202b", "\u202c", "\u202d", "\u202e"],
    "bidi isolate": ["\u2066", "\u2067", "\u2068", "\u2069"],
}
ALL_FORBIDDEN = [c for chars in FORBIDDEN.values() for c in chars]
HOSTILE = "Evil \x1b[31mALERT\x1b[0m \x1b]0;pwned\x07 \u202eeman\u202c \x9b2J end"


def poisoned(value: str, char: str) -> str:
    return value[:1] + char + value[1:]


def url_of(path: str, w: World) -> str:
    return path.format(slug=w.app, role=w.role, perm="users.read", email=w.email, key_id=w.key_id)


def test_the_document_has_every_request_body(document):
    """Guards the generator: were the walk to find nothing, the tests below would pass on nothing."""
    models = {model for _, _, model in body_operations(document)}
    declared = {name for name, cls in vars(schemas).items() if isinstance(cls, type) and issubclass(cls, schemas.Request) and cls is not schemas.Request}
    assert models == declared
    leaves = [loc for _, _, model in body_operations(document) for loc, _, _ in strings(document, {"$ref": model})]
    assert ("scopes", 0, "path") in leaves and ("scopes", 0, "operations", 0) in leaves and ("email",) in leaves


@pytest.mark.parametrize("cls", sorted(FORBIDDEN))
def test_every_string_of_every_body_refuses_forbidden_characters(service, admin, world, document, cls):
    with unchanged(service):  # nothing of it all is written (one look at the tables: they are large by now)
        for method, path, model in body_operations(document):
            schema = document["components"]["schemas"][model]
            base = valid(document, schema)
            for loc, _, clean in strings(document, schema):
                field = ".".join(map(str, loc))
                # The clean value is valid there, so a refusal below is the character's doing (the
                # generated body may still break a rule across fields: field errors come first).
                try:
                    getattr(schemas, model).model_validate(with_value(base, document, schema, loc, clean))
                except schemas.ValidationError as exc:
                    assert all(err["loc"] == () for err in exc.errors()), (model, field, exc.errors())
                for char in FORBIDDEN[cls]:
                    body = with_value(base, document, schema, loc, poisoned(clean, char))
                    response = admin.request(method, url_of(path, world), json=body)
                    details = envelope(response, 422, "validation_error")
                    refused = {f["field"]: f for f in details["fields"]}
                    assert field in refused, (method, path, field, repr(char), details)
                    assert refused[field]["type"] == "forbidden_character"
                    assert f"U+{ord(char):04X}" in refused[field]["message"]


def query_parameters(doc: dict) -> list[tuple[str, str, str, dict]]:
    return [
        (method.upper(), path, p["name"], p["schema"])
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if op.get("security") == [{"adminToken": []}]
        for p in op.get("parameters", [])
        if p["in"] == "query" and any(b.get("type") == "string" for b in [p["schema"], *p["schema"].get("anyOf", [])])
    ]


def test_the_document_has_the_free_text_query_parameters(document):
    found = {(path, name) for _, path, name, _ in query_parameters(document)}
    assert {("/api/v1/keys/{key_id}", "reason"), ("/api/v1/users", "q"), ("/api/v1/audit", "actor"),
            ("/api/v1/audit", "action"), ("/api/v1/audit", "target")} <= found


def test_every_string_query_parameter_refuses_forbidden_characters(service, admin, world, document):
    with unchanged(service):
        for method, path, name, schema in query_parameters(document):
            for char in ALL_FORBIDDEN:
                if char == "\x00":
                    continue  # a NUL anywhere in a URL is a 400 before routing (test_bad_input)
                response = admin.request(method, url_of(path, world), params={name: poisoned("x", char)})
                details = envelope(response, 422, "validation_error")
                assert f"query.{name}" in [f["field"] for f in details["fields"]], (method, path, name, repr(char))
    # The refusal is the character's: the revoke goes through with a clean reason.
    assert admin.delete(f"/api/v1/keys/{world.key_id}", params={"reason": "leaked"}).status_code == 200


def test_every_forbidden_code_point_and_no_other():
    """The rule over all of Unicode, without HTTP: exactly C0, DEL and C1, and the bidi overrides and isolates."""
    forbidden = {*range(0x00, 0x20), *range(0x7F, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
    found = {cp for cp in range(0x110000) if schemas.forbidden_characters(f"a{chr(cp)}")}
    assert found == forbidden
    assert {cp for cp in forbidden if re.fullmatch(schemas.TEXT_PATTERN, chr(cp))} == set()  # fullmatch: ECMA $


def test_the_text_rule_is_in_the_document(document):
    """Clients and schemathesis see the rule as a pattern, and generate no hostile text as valid."""
    name = document["components"]["schemas"]["AppCreate"]["properties"]["name"]
    assert name["pattern"] == schemas.TEXT_PATTERN
    for char in ALL_FORBIDDEN:
        assert not re.search(schemas.TEXT_PATTERN, f"a{char}b")
    assert re.search(schemas.TEXT_PATTERN, "Ünïcode names, emoji 🎩 and 'quotes' are fine")


def test_an_unknown_field_named_with_escapes_is_echoed_escaped(service, admin):
    with unchanged(service):
        response = admin.post("/api/v1/apps", json={"slug": "x", "name": "x", "col\u202eour\x1b": 1})
    details = envelope(response, 422, "validation_error")
    assert [f["field"] for f in details["fields"]] == ["col\\u202eour\\x1b"]
    assert not re.search(f"[{schemas.FORBIDDEN_CHARACTERS}]", response.text)


def test_unicode_text_is_welcome(admin, make):
    slug = make.app()
    body = {"name": "Zürich — 東京 🎩 é", "description": "«quoted» ‘text’, zero​width"}
    response = admin.patch(f"/api/v1/apps/{slug}", json=body)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in body} == body


# -- text that is already stored --------------------------------------------------------


def test_rows_holding_hostile_text_are_served_and_editable(service, admin, make):
    """A database filled before the rule (or by hand) breaks nothing: reads, edits, audit, explain."""
    app = make.app(permissions=("users.read",), roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(app, email, "viewer")
    key = make.key(app, rate_limit_per_minute=100)
    with service.engine.begin() as conn:  # by hand, past the service's rule
        app_id = conn.scalar(select(App.id).where(App.slug == app))
        user_id = conn.scalar(select(User.id).where(User.email == email))
        conn.execute(update(App).where(App.id == app_id).values(name=HOSTILE, description=HOSTILE))
        conn.execute(update(Permission).where(Permission.app_id == app_id).values(description=HOSTILE))
        conn.execute(update(Role).where(Role.app_id == app_id).values(name=HOSTILE, description=HOSTILE))
        conn.execute(update(User).where(User.id == user_id).values(name=HOSTILE))
        conn.execute(update(Grant).where(Grant.user_id == user_id).values(granted_by=HOSTILE))
        conn.execute(update(Key).where(Key.id == key["id"]).values(name=HOSTILE, created_by=HOSTILE))

    def ok(response, status=200):
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    assert ok(admin.get(f"/api/v1/apps/{app}"))["name"] == HOSTILE
    assert HOSTILE in [a["name"] for a in ok(admin.get("/api/v1/apps", params={"q": app}))["data"]]
    assert ok(admin.get(f"/api/v1/apps/{app}/permissions"))["data"][0]["description"] == HOSTILE
    assert ok(admin.get(f"/api/v1/apps/{app}/roles/viewer"))["name"] == HOSTILE
    assert ok(admin.get(f"/api/v1/users/{email}"))["name"] == HOSTILE
    [member] = ok(admin.get(f"/api/v1/apps/{app}/members"))["data"]
    assert member["name"] == HOSTILE and member["grants"][0]["granted_by"] == HOSTILE
    assert ok(admin.get(f"/api/v1/users/{email}/access"))["apps"][0]["app_name"] == HOSTILE
    assert ok(admin.get(f"/api/v1/explain/{email}", params={"app": app}))["why"]["users.read"][0]["granted_by"] == HOSTILE
    assert ok(admin.get(f"/api/v1/keys/{key['id']}"))["name"] == HOSTILE

    # Editing another field of the same row leaves the stored text as it is.
    assert ok(admin.patch(f"/api/v1/apps/{app}", json={"description": "clean"}))["name"] == HOSTILE
    assert ok(admin.patch(f"/api/v1/apps/{app}/roles/viewer", json={"permissions": []}))["name"] == HOSTILE
    assert ok(admin.patch(f"/api/v1/users/{email}", json={"active": False}))["name"] == HOSTILE
    assert ok(admin.patch(f"/api/v1/keys/{key['id']}", json={"rate_limit_per_minute": 50}))["name"] == HOSTILE
    rotated = ok(admin.post(f"/api/v1/keys/{key['id']}/rotate", json={"grace": "1h"}), 201)
    assert rotated["name"] == HOSTILE

    # The audit trail keeps the before and after as they were.
    events = ok(admin.get("/api/v1/audit", params={"target": f"apps/{app}"}))["data"]
    assert events[0]["action"] == "app.update" and events[0]["before"]["name"] == HOSTILE

    # The data plane answers for the rotated key of an app with such a name.
    with service.anonymous() as client:
        answer = client.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": rotated["key"]})
    assert answer.status_code == 200, answer.text
