"""The OpenAPI document tells the whole truth about errors and credentials.

Every error an admin route can answer is derived, not listed per route: from
the route's rule in the policy table (``api/policy.py``) and from the route
itself (its path parameters, query parameters and body).  All of them carry the
error envelope.  The document also says how each route authenticates and which
characters its text accepts.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Iterable

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.convertors import StringConvertor

from pepyhat import schemas, scopes
from pepyhat.api.policy import POLICY, Rule
from pepyhat.paths import ALL_KEYS

# The resource a path segment introduces: what is "not found" when its id is unknown.
RESOURCES = {
    "apps": "app", "roles": "role", "permissions": "permission", "members": "user",
    "users": "user", "keys": "key", "tokens": "key",
}
_PLACEHOLDER = re.compile(r"^\{([^}]+)\}$")
SECRET_IN_URL_REASON = "a key-shaped string in the path or query; keys go in headers and bodies (POST /api/v1/keys/lookup)"
SECURITY_SCHEMES = {
    "adminToken": {"type": "http", "scheme": "bearer", "description": "An admin token (pha_...): the admin API"},
    "appKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "An app key (phk_...): the data plane"},
}


def _named(path: str) -> list[tuple[str, str, bool]]:
    """(resource segment before it, placeholder, is it the last segment) for each ``{...}`` of a path."""
    segments = [s for s in path.split("/") if s]
    out = []
    for i, segment in enumerate(segments):
        match = _PLACEHOLDER.match(segment)
        if match:
            out.append((segments[i - 1] if i else "", match.group(1), i == len(segments) - 1))
    return out


def _as_pattern(template: str) -> str:
    return "/".join("*" if _PLACEHOLDER.match(s) else s for s in template.split("/"))


def _query_names(dependant) -> set[str]:
    return {p.alias for p in dependant.query_params} | {n for d in dependant.dependencies for n in _query_names(d)}


def admin_errors(route: APIRoute, rule: Rule) -> dict[int, list[str]]:
    """Status -> the error codes (with why) ``route`` can answer, from its rule and its parameters."""
    errors: dict[int, list[str]] = defaultdict(list)
    query = _query_names(route.dependant)
    path_params = _named(route.path_format)
    templates = rule.paths if isinstance(rule.paths, tuple) else ()
    computed = callable(rule.paths)  # the rule resolves its path from the store (an existing key, a key's app)
    body = route.body_field is not None
    named = [(before, name) for before, name, _ in path_params]
    named += [(before, name) for t in templates for before, name, last in _named(t) if not last and "." in name]

    if path_params or query:
        errors[400].append("bad_request: a NUL character in the URL")
    # Any URL can carry one (api/middleware.py), and every admin route documents a 400 already.
    errors[400].append(f"secret_in_url: {SECRET_IN_URL_REASON}")
    if body:
        errors[400].append("invalid_json: the body is not JSON")
    if "cursor" in query:
        errors[400].append("invalid_cursor: the cursor is not one this list issued")

    errors[401].append("unauthorized: no admin token in Authorization: Bearer, or an unknown, revoked or expired one")
    resource = " or ".join(templates) if templates else "the key's path"
    errors[403].append(f"forbidden: the token lacks {rule.capability}, or a scope that lets it {rule.operation} {resource}")
    if rule.capability == "keys.manage" and rule.operation == "write":
        errors[403].append("escalation_denied: the key would hold capabilities or scopes its creator does not")

    kinds = sorted({RESOURCES[before] for before, _ in named if before in RESOURCES})
    if kinds or computed:
        errors[404].extend(f"{kind}_not_found" for kind in kinds)
        if not kinds:
            errors[404].append("a resource the request names does not exist")

    if rule.operation == "write" and any(last and name.startswith("body.") for t in templates for _, name, last in _named(t)):
        errors[409].append("conflict: it exists already")
    if computed and path_params and rule.capability == "keys.manage":  # the state of an existing key
        if rule.operation == "write":
            errors[409].append("key_not_active: the key is revoked or expired")
        errors[409].append("last_superadmin: the last active superadmin token cannot be revoked, narrowed or shortened")
    if rule.operation == "delete" and any(scopes.covers(_as_pattern(t) + "/**", k) for t in templates for k in ALL_KEYS):
        errors[409].append("conflict: keys still belong to it")

    if body:
        errors[413].append("payload_too_large: the body is over 1 MiB")
        errors[415].append("unsupported_media_type: the body is not application/json")
    if body or query:
        errors[422].append("validation_error: details.fields names each field and what is wrong with it")
        if body:
            errors[422].append("or a code of the route's own for a body that is well formed but unusable")
    return errors


def _responses(errors: dict[int, list[str]]) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": schemas.ErrorEnvelope, "description": "; ".join(reasons)}
        for status, reasons in sorted(errors.items())
    }


def _with_text_rule(operation: dict[str, Any], route: APIRoute) -> None:
    """Query strings follow the text rule (api/query.py); ids with a convertor have its shape."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            schemas.add_text_pattern(parameter["schema"])
        convertor = route.param_convertors.get(parameter["name"]) if parameter["in"] == "path" else None
        if convertor is not None and type(convertor) is not StringConvertor:
            parameter["schema"]["pattern"] = f"^{convertor.regex}$"


def _handles_itself(route: APIRoute) -> bool:
    """A route whose endpoint is its own handler (the data plane's): FastAPI runs nothing for it."""
    return type(route).get_route_handler is not APIRoute.get_route_handler


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Document the errors and credentials of every route of ``routers`` in ``app.openapi()``.

    Call it before the routers are included: the app takes its copy of each route then.
    """
    routes = {
        (route.path_format, method.lower()): route
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    security: dict[str, list[dict[str, list]]] = {}
    for route in routes.values():
        rule = POLICY.get(route.name)
        if rule is not None:
            route.responses = {**_responses(admin_errors(route, rule)), **route.responses}
            security[route.path_format] = [{"adminToken": []}]
        elif route.path_format == "/api/v1/authz/{email}":
            security[route.path_format] = [{"appKey": []}]
        elif route.path_format == "/api/v1/auth/validate":
            security[route.path_format] = [{"appKey": []}, {"adminToken": []}]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path, operations in document["paths"].items():
            for method, operation in operations.items():
                route = routes[(path, method)]
                if path in security:
                    operation["security"] = security[path]
                if not _handles_itself(route):
                    _with_text_rule(operation, route)
                # FastAPI adds a 422 of its own shape to any route with parameters; ours are in
                # the envelope, and a route whose parameters cannot fail validation has none.
                fastapi_422 = operation["responses"].get("422", {}).get("content", {}).get("application/json", {})
                if fastapi_422.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    del operation["responses"]["422"]
        components = document.setdefault("components", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
        components["securitySchemes"] = SECURITY_SCHEMES
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
