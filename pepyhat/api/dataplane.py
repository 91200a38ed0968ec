"""The data plane: what apps call on every sign-in or page view.

Kept lean on purpose: one read on the event loop (``pepyhat.store.reads``), no
admin dependencies, no framework on the way.  ``RequestContext`` (the one
middleware) hands a ``GET /api/v1/authz/{email}`` straight to ``serve`` after
its own checks (request id, URL and body rules, metrics, access log): the
framework's exception, body-limit and routing layers, about ten ASGI calls,
cost as much as the answer itself (bench/README.md).  The route stays in the
router for the OpenAPI document and for any request that reaches it anyway.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from json.encoder import encode_basestring_ascii as _json_str
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from pepyhat import authz, keys, metrics, paths, schemas, scopes
from pepyhat.api.auth import client_address, note_refusal, presented_key
from pepyhat.api.errors import ApiError
from pepyhat.api.runtime import Runtime, runtime
from pepyhat.ratelimit import Decision, Limiter
from pepyhat.service.actor import Actor, KeyRefused, check_key
from pepyhat.service.keys import key_view
from pepyhat.store.reads import Disconnected, Found

router = APIRouter(tags=["data plane"])

PATH = "/api/v1/authz/{email}"
PREFIX = "/api/v1/authz/"
NO_STORE = {"Cache-Control": "no-store"}
_JSON = [(b"content-type", b"application/json"), (b"cache-control", b"no-store")]
_ERRORS = {
    401: {"model": schemas.ErrorEnvelope, "description": "missing_api_key"},
    400: {"model": schemas.ErrorEnvelope, "description": "missing_app; secret_in_url (a key in the URL: send it in X-API-Key)"},
    403: {"model": schemas.ErrorEnvelope, "description": "invalid_api_key, key_revoked, key_expired, key_not_for_app"},
    404: {"model": schemas.ErrorEnvelope, "description": "app_not_found"},
    429: {"model": schemas.ErrorEnvelope, "description": "rate_limited"},
}
# Each outcome's counter, found once: ``labels()`` takes a lock and checks its arguments.
_DECISIONS = {}


def _decided(outcome: str) -> None:
    counter = _DECISIONS.get(outcome)
    if counter is None:
        counter = _DECISIONS[outcome] = metrics.AUTHZ_DECISIONS.labels(outcome)
    counter.inc()


class Refused(Exception):
    """The answer is a refusal: this status, code, message and extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _refuse(status: int, code: str, message: str, headers: dict | None = None) -> Refused:
    _decided(code)
    return Refused(status, code, message, headers)


async def _decide(rt: Runtime, state: dict, client: str | None, found: Found, app: str, email: str, now: datetime) -> dict:
    """The checks of the brief, in its order, on what the one read found; the answer's extra headers."""
    key = found.key
    if key is None:
        raise _refuse(403, "invalid_api_key", "invalid API key: unknown key")
    state["key_id"] = key.id
    if key.revoked_at is not None:
        rt.usage.refused(key.id, now, client)
        raise _refuse(403, "key_revoked", "API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        rt.usage.refused(key.id, now, client)
        raise _refuse(403, "key_expired", "API key has expired")
    if key.app_id is None:
        raise _refuse(404, "app_not_found", f"app {app!r} not found")
    path = paths.authz(app, email)
    if not any(scopes.allows(s["operations"], "read") and scopes.matches(s["path"], path) for s in key.scopes):
        raise _refuse(403, "key_not_for_app", f"this key may not read {path}")
    if key.rate_limit_per_minute:
        decision = await _hit(rt.limiter, key.id, key.rate_limit_per_minute)
        if not decision.allowed:
            raise _refuse(429, "rate_limited", f"rate limit of {decision.limit}/minute reached", decision.headers())
        return decision.headers()
    return {}


async def _hit(limiter: Limiter, key_id: str, limit: int) -> Decision:
    if limiter.local:  # in memory (also Redis's fallback while it is away): no thread needed
        return limiter.hit(key_id, limit)
    return await run_in_threadpool(limiter.hit, key_id, limit)  # Redis: a network call


def _body(email: str, app: str, access: authz.Access) -> bytes:
    """``access.body(email, app)`` as compact JSON, written out: the encoder's set-up cost more than the text."""
    return (
        f'{{"email":{_json_str(email)},"app":{_json_str(app)},'
        f'"found":{"true" if access.found else "false"},"active":{"true" if access.active else "false"},'
        f'"roles":[{",".join(map(_json_str, access.roles))}],'
        f'"permissions":[{",".join(map(_json_str, access.permissions))}]}}'
    ).encode()


def _error_body(code: str, message: str) -> bytes:
    # As the service's other errors are rendered (errors.envelope, a JSONResponse).
    body = {"error": {"code": code, "message": message, "details": {}}}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _headers(extra: dict) -> list[tuple[bytes, bytes]]:
    return _JSON + [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()]


async def answer(rt: Runtime, state: dict, email: str, app: str | None, plaintext: str | None, client: str | None):
    """(status, headers, body) of the data plane's answer; ``state`` gets the key's id once it is known."""
    try:
        if not plaintext:
            raise _refuse(401, "missing_api_key", "send the app key in the X-API-Key header")
        if not app:
            raise _refuse(400, "missing_app", "the app query parameter is required: ?app=slug")
        try:
            if keys.parse(plaintext) != "app":
                raise _refuse(403, "invalid_api_key", "invalid API key: the data plane takes app keys (phk_...)")
        except keys.MalformedKey as exc:
            raise _refuse(403, "invalid_api_key", f"invalid API key: {exc}") from None
        now = datetime.now(timezone.utc)
        email = email.lower()
        digest = keys.digest(plaintext)
        try:
            found = await rt.reads.find(digest, app, email, now)
        except Disconnected:
            # A pooled connection died (database restart): the read is safe to run once more.
            found = await rt.reads.find(digest, app, email, now)
        extra = await _decide(rt, state, client, found, app, email, now)
    except Refused as refused:
        return refused.status, _headers(refused.headers), _error_body(refused.code, refused.message)
    access = found.access
    rt.usage.note(found.key.id, now, client)
    _decided("allowed" if access.active else ("inactive_user" if access.found else "unknown_user"))
    return 200, _headers(extra) if extra else _JSON, _body(email, app, access)


async def serve(scope, send) -> bool:
    """Answer a ``GET /api/v1/authz/...`` as raw ASGI; False (nothing sent) when the router must decide."""
    email = scope["path"][len(PREFIX):]
    if scope["method"] != "GET" or not email or "/" in email or scope.get("root_path"):
        return False  # not the route's shape (the router's 404 or 405), or mounted under a prefix
    scope["route"] = _ROUTE  # for the metrics' and the access log's route template
    plaintext = None
    for name, value in scope["headers"]:
        if name == b"x-api-key":
            plaintext = value.decode("latin-1")
            break
    app = None
    query = scope.get("query_string")
    if query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if name == "app":
                app = value  # the last one, as the framework's query_params has it
    client = scope.get("client")
    status, headers, body = await answer(
        scope["app"].state.runtime, scope.setdefault("state", {}), email, app, plaintext, client[0] if client else None
    )
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
    return True


class _Direct(APIRoute):
    """FastAPI documents the route; the endpoint alone handles it (takes the request, returns the response).

    Requests normally never get here (``serve`` answers them first); when one
    does, FastAPI's per-request parameter and dependency solving is skipped too.
    """

    def get_route_handler(self):
        return self.endpoint


_PARAMETERS = [
    {"name": "email", "in": "path", "required": True, "schema": {"type": "string", "title": "Email"}},
    {"name": "app", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1, "title": "App"},
     "description": "the app's slug; without it (or empty) the answer is 400 missing_app"},
]


async def authz_check(request: Request) -> Response:
    """A user's roles and permissions in one app. Send the app key in ``X-API-Key``."""
    status, headers, body = await answer(
        runtime(request), request.scope.setdefault("state", {}), request.path_params["email"],
        request.query_params.get("app"), request.headers.get("x-api-key"), client_address(request),
    )
    response = Response(body, status_code=status)
    response.raw_headers = [*headers, (b"content-length", str(len(body)).encode())]
    return response


router.add_api_route(
    PATH,
    authz_check,
    methods=["GET"],
    response_model=schemas.AuthzResponse,
    responses=_ERRORS,
    openapi_extra={"parameters": _PARAMETERS},
    route_class_override=_Direct,
)
_ROUTE = router.routes[-1]


@router.get(
    "/api/v1/auth/validate",
    response_model=schemas.ValidateResponse,
    responses={
        400: {"model": schemas.ErrorEnvelope, "description": "secret_in_url: a key in the URL (send it in a header)"},
        401: {"model": schemas.ErrorEnvelope},
    },
)
def validate(request: Request) -> JSONResponse:
    """Is this key (``X-API-Key`` or ``Authorization: Bearer``) live, and what may it do?"""
    rt = runtime(request)
    token = presented_key(request)
    if token is None and rt.settings.embedded_operator:
        p = Actor.local(rt.settings.embedded_operator)
        body = schemas.ValidatedKey(
            id="embedded", name=p.name, kind="admin", app=None, scopes=list(p.scopes),
            capabilities=sorted(p.capabilities), expires_at=None, rate_limit_per_minute=None,
        )
        return JSONResponse(schemas.ValidateResponse(valid=True, key=body).model_dump(mode="json"), headers=NO_STORE)
    if not token:
        raise ApiError(401, "unauthorized", "send a key in X-API-Key or Authorization: Bearer", headers=NO_STORE)
    now = datetime.now(timezone.utc)
    with rt.sessions() as session:
        try:
            key = check_key(session, token, None, now)
        except KeyRefused as exc:
            note_refusal(request, exc, now)
            raise ApiError(401, "unauthorized", exc.message, {"reason": exc.code}, headers=NO_STORE) from None
        body = schemas.ValidatedKey(**key_view(key, now).model_dump())
    request.state.key_id = key.id
    rt.usage.note(key.id, now, client_address(request))
    return JSONResponse(schemas.ValidateResponse(valid=True, key=body).model_dump(mode="json"), headers=NO_STORE)
