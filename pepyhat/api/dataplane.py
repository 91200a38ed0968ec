"""The data plane: what apps call on every sign-in or page view.

Kept lean on purpose: one read on the event loop (``pepyhat.store.reads``), no
admin dependencies, one response object built by hand.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from pepyhat import keys, metrics, paths, schemas, scopes
from pepyhat.api.auth import client_address, note_refusal, presented_key
from pepyhat.api.errors import ApiError
from pepyhat.api.runtime import Runtime, runtime
from pepyhat.ratelimit import Decision, Limiter
from pepyhat.service.actor import Actor, KeyRefused, check_key
from pepyhat.service.keys import key_view
from pepyhat.store.reads import Disconnected, Found

router = APIRouter(tags=["data plane"])

NO_STORE = {"Cache-Control": "no-store"}
_ERRORS = {
    401: {"model": schemas.ErrorEnvelope, "description": "missing_api_key"},
    400: {"model": schemas.ErrorEnvelope, "description": "missing_app; secret_in_url (a key in the URL: send it in X-API-Key)"},
    403: {"model": schemas.ErrorEnvelope, "description": "invalid_api_key, key_revoked, key_expired, key_not_for_app"},
    404: {"model": schemas.ErrorEnvelope, "description": "app_not_found"},
    429: {"model": schemas.ErrorEnvelope, "description": "rate_limited"},
}


def _refuse(status: int, code: str, message: str, headers: dict | None = None) -> ApiError:
    metrics.AUTHZ_DECISIONS.labels(code).inc()
    return ApiError(status, code, message, headers={**NO_STORE, **(headers or {})})


async def _decide(rt: Runtime, request: Request, found: Found, app: str, email: str, now: datetime) -> dict:
    """The checks of the brief, in its order, on what the one read found; the answer's headers."""
    key = found.key
    if key is None:
        raise _refuse(403, "invalid_api_key", "invalid API key: unknown key")
    request.state.key_id = key.id
    if key.revoked_at is not None:
        rt.usage.refused(key.id, now, client_address(request))
        raise _refuse(403, "key_revoked", "API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        rt.usage.refused(key.id, now, client_address(request))
        raise _refuse(403, "key_expired", "API key has expired")
    if key.app_id is None:
        raise _refuse(404, "app_not_found", f"app {app!r} not found")
    path = paths.authz(app, email)
    if not any(scopes.allows(s["operations"], "read") and scopes.matches(s["path"], path) for s in key.scopes):
        raise _refuse(403, "key_not_for_app", f"this key may not read {path}")
    headers = dict(NO_STORE)
    if key.rate_limit_per_minute:
        decision = await _hit(rt.limiter, key.id, key.rate_limit_per_minute)
        headers.update(decision.headers())
        if not decision.allowed:
            raise _refuse(429, "rate_limited", f"rate limit of {decision.limit}/minute reached", decision.headers())
    return headers


async def _hit(limiter: Limiter, key_id: str, limit: int) -> Decision:
    if limiter.local:  # in memory (also Redis's fallback while it is away): no thread needed
        return limiter.hit(key_id, limit)
    return await run_in_threadpool(limiter.hit, key_id, limit)  # Redis: a network call


class _Direct(APIRoute):
    """FastAPI documents the route; the endpoint alone handles it (takes the request, returns the response).

    For the one endpoint every app calls on every request: FastAPI's per-request
    parameter and dependency solving cost about a fifth of its time.  The two
    parameters are read off the request and documented by hand below.
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
    email: str = request.path_params["email"]
    app = request.query_params.get("app")
    plaintext = request.headers.get("x-api-key")
    if not plaintext:
        raise _refuse(401, "missing_api_key", "send the app key in the X-API-Key header")
    if not app:
        raise _refuse(400, "missing_app", "the app query parameter is required: ?app=slug")
    try:
        if keys.parse(plaintext) != "app":
            raise _refuse(403, "invalid_api_key", "invalid API key: the data plane takes app keys (phk_...)")
    except keys.MalformedKey as exc:
        raise _refuse(403, "invalid_api_key", f"invalid API key: {exc}") from None

    rt = runtime(request)
    now = datetime.now(timezone.utc)
    email = email.lower()
    digest = keys.digest(plaintext)
    try:
        found = await rt.reads.find(digest, app, email, now)
    except Disconnected:
        # A pooled connection died (database restart): the read is safe to run once more.
        found = await rt.reads.find(digest, app, email, now)
    headers = await _decide(rt, request, found, app, email, now)
    answer = found.access
    rt.usage.note(found.key.id, now, client_address(request))
    outcome = "allowed" if answer.active else ("inactive_user" if answer.found else "unknown_user")
    metrics.AUTHZ_DECISIONS.labels(outcome).inc()
    return Response(
        json.dumps(answer.body(email, app), separators=(",", ":")),
        media_type="application/json",
        headers=headers,
    )


router.add_api_route(
    "/api/v1/authz/{email}",
    authz_check,
    methods=["GET"],
    response_model=schemas.AuthzResponse,
    responses=_ERRORS,
    openapi_extra={"parameters": _PARAMETERS},
    route_class_override=_Direct,
)


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
