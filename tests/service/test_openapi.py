"""The OpenAPI document: every error each route gives, in the envelope, and how each route authenticates.

The service derives the errors from the policy table and the routes
(``pepyhat/api/openapi.py``); this test holds an independent expectation, written
from DESIGN and the routes' code, so a wrong derivation fails here.  That the
service gives no status it does not document is schemathesis's
``status_code_conformance`` (test_schemathesis.py).
"""

from __future__ import annotations

import pytest

from pepyhat.api.policy import POLICY
from tests.service.openapi_walk import document  # noqa: F401  (fixture)

ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}

# method path -> the error statuses it can answer (400: NUL in the URL, bad JSON, bad cursor;
# 404: a named resource is unknown; 409: duplicates and state; 413/415/422: bodies and parameters).
ADMIN_ERRORS = {
    "GET /api/v1/apps": "400 401 403 422",
    "POST /api/v1/apps": "400 401 403 409 413 415 422",
    "GET /api/v1/apps/{slug}": "400 401 403 404",
    "PATCH /api/v1/apps/{slug}": "400 401 403 404 413 415 422",
    "DELETE /api/v1/apps/{slug}": "400 401 403 404 409 422",  # 409: live keys without force
    "GET /api/v1/apps/{slug}/permissions": "400 401 403 404 422",
    "POST /api/v1/apps/{slug}/permissions": "400 401 403 404 409 413 415 422",
    "DELETE /api/v1/apps/{slug}/permissions/{perm}": "400 401 403 404",
    "GET /api/v1/apps/{slug}/roles": "400 401 403 404 422",
    "POST /api/v1/apps/{slug}/roles": "400 401 403 404 409 413 415 422",
    "GET /api/v1/apps/{slug}/roles/{role}": "400 401 403 404",
    "PATCH /api/v1/apps/{slug}/roles/{role}": "400 401 403 404 413 415 422",
    "DELETE /api/v1/apps/{slug}/roles/{role}": "400 401 403 404",
    "GET /api/v1/apps/{slug}/members": "400 401 403 404 422",
    "PUT /api/v1/apps/{slug}/members/{email}/roles/{role}": "400 401 403 404 413 415 422",  # idempotent: no 409
    "DELETE /api/v1/apps/{slug}/members/{email}/roles/{role}": "400 401 403 404",
    "GET /api/v1/apps/{slug}/access-review": "400 401 403 404",
    "GET /api/v1/users": "400 401 403 422",
    "POST /api/v1/users": "400 401 403 409 413 415 422",
    "GET /api/v1/users/{email}": "400 401 403 404",
    "PATCH /api/v1/users/{email}": "400 401 403 404 413 415 422",
    "DELETE /api/v1/users/{email}": "400 401 403 404",
    "GET /api/v1/users/{email}/access": "400 401 403 404",
    "GET /api/v1/keys": "400 401 403 422",
    "POST /api/v1/keys": "400 401 403 404 413 415 422",  # 404: the app
    "POST /api/v1/keys/lookup": "400 401 403 413 415 422",
    "GET /api/v1/keys/{key_id}": "400 401 403 404",
    "PATCH /api/v1/keys/{key_id}": "400 401 403 404 409 413 415 422",  # key_not_active, last_superadmin
    "DELETE /api/v1/keys/{key_id}": "400 401 403 404 409 422",  # last_superadmin
    "POST /api/v1/keys/{key_id}/rotate": "400 401 403 404 409 413 415 422",  # key_not_active
    "GET /api/v1/scopes/examples": "400 401 403 422",
    "GET /api/v1/explain/{email}": "400 401 403 404 422",
    "GET /api/v1/audit": "400 401 403 422",
}


def operations(doc: dict):
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            yield f"{method.upper()} {path}", op


def test_the_table_covers_every_admin_route(document):
    admin = {name for name, op in operations(document) if op.get("security") == [{"adminToken": []}]}
    assert admin == set(ADMIN_ERRORS)
    assert len(admin) == len(POLICY)


@pytest.mark.parametrize("operation", sorted(ADMIN_ERRORS))
def test_admin_route_documents_its_errors(document, operation):
    op = dict(operations(document))[operation]
    errors = {status for status in op["responses"] if status[0] in "45"}
    assert errors == set(ADMIN_ERRORS[operation].split())
    for status in errors:
        response = op["responses"][status]
        assert response["content"]["application/json"]["schema"] == ENVELOPE, (operation, status)
        assert response["description"], (operation, status)


def test_descriptions_name_the_codes(document):
    ops = dict(operations(document))
    assert "key_not_found" in ops["GET /api/v1/keys/{key_id}"]["responses"]["404"]["description"]
    assert {"app_not_found", "role_not_found", "user_not_found"} <= set(
        ops["PUT /api/v1/apps/{slug}/members/{email}/roles/{role}"]["responses"]["404"]["description"].split("; ")
    )
    assert "app_not_found" in ops["GET /api/v1/explain/{email}"]["responses"]["404"]["description"]
    assert "invalid_cursor" in ops["GET /api/v1/users"]["responses"]["400"]["description"]
    assert "escalation_denied" in ops["POST /api/v1/keys"]["responses"]["403"]["description"]
    assert "users.write" in ops["PATCH /api/v1/users/{email}"]["responses"]["403"]["description"]
    assert "last_superadmin" in ops["DELETE /api/v1/keys/{key_id}"]["responses"]["409"]["description"]
    # A key in any URL is refused (api/middleware.py): every route that documents a 400 says so.
    for name, op in ops.items():
        if "400" in op["responses"]:
            assert "secret_in_url" in op["responses"]["400"]["description"], name
    assert "400" in ops["GET /api/v1/auth/validate"]["responses"]


def test_key_forensics_are_documented(document):
    key = document["components"]["schemas"]["Key"]["properties"]
    assert key["refused_since_revoke"]["type"] == "integer" and key["refused_since_revoke"]["default"] == 0
    assert {"type": "string"} in key["last_used_from"]["anyOf"]


def test_the_expiring_filter_is_documented(document):
    [within] = [p for p in dict(operations(document))["GET /api/v1/keys"]["parameters"] if p["name"] == "expires_within"]
    assert within["in"] == "query" and not within["required"]
    assert within["schema"]["examples"] == ["7d"]


def test_scope_examples_are_documented(document):
    examples = dict(operations(document))["GET /api/v1/scopes/examples"]
    assert examples["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ScopeExamples"}
    assert {p["name"]: p["required"] for p in examples["parameters"]} == {"path": True, "limit": False}


def test_every_error_anywhere_is_the_envelope(document):
    for name, op in operations(document):
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == ENVELOPE, (name, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_credentials_are_documented(document):
    ops = dict(operations(document))
    schemes = document["components"]["securitySchemes"]
    assert schemes["adminToken"] == {"type": "http", "scheme": "bearer", "description": schemes["adminToken"]["description"]}
    assert schemes["appKey"]["in"] == "header" and schemes["appKey"]["name"] == "X-API-Key"
    assert ops["GET /api/v1/authz/{email}"]["security"] == [{"appKey": []}]
    assert ops["GET /api/v1/auth/validate"]["security"] == [{"appKey": []}, {"adminToken": []}]
    for open_route in ("GET /healthz", "GET /readyz", "GET /metrics"):
        assert "security" not in ops[open_route]


def test_key_ids_have_their_shape(document):
    op = dict(operations(document))["GET /api/v1/keys/{key_id}"]
    [parameter] = op["parameters"]
    assert parameter["schema"]["pattern"] == "^key_[0-9A-Za-z]{16}$"


def test_readyz_documents_the_limiter(document):
    health = document["components"]["schemas"]["Health"]
    assert "limiter" in health["properties"]
