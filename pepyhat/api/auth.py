"""Who is calling, and whether they may: the one dependency every admin route uses."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from pepyhat.api.errors import ApiError
from pepyhat.api.policy import POLICY, Rule
from pepyhat.api.runtime import SessionDep, runtime
from pepyhat.service.actor import Actor, Context, KeyRefused, Reach, check_key


def presented_key(request: Request) -> str | None:
    """The key in ``Authorization: Bearer`` or ``X-API-Key``; "" for an unusable one, None for none."""
    header = request.headers.get("authorization")
    api_key = request.headers.get("x-api-key")
    if header:
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else ""
        if token and api_key is not None and api_key != token:
            # Two different keys: answering for either would be a guess about which one was meant.
            raise ApiError(
                401,
                "unauthorized",
                "send one key, in Authorization: Bearer or in X-API-Key, not two",
                {"reason": "two_keys"},
                headers={"Cache-Control": "no-store"},
            )
        return token
    return api_key


def authenticate(request: Request, session: Session) -> Actor:
    rt = runtime(request)
    if "authorization" not in request.headers and "x-api-key" in request.headers:
        # The contract puts admin tokens in Authorization; X-API-Key is the data plane's header.
        raise ApiError(
            401,
            "unauthorized",
            "the admin API takes its token in the Authorization header (Authorization: Bearer pha_...), not X-API-Key",
            {"reason": "wrong_header"},
        )
    token = presented_key(request)
    if token is None and rt.settings.embedded_operator:
        return Actor.local(rt.settings.embedded_operator)
    if not token:
        raise ApiError(401, "unauthorized", "missing admin token: send Authorization: Bearer pha_...")
    now = datetime.now(timezone.utc)
    try:
        key = check_key(session, token, "admin", now)
    except KeyRefused as exc:
        note_refusal(request, exc, now)
        raise ApiError(401, "unauthorized", exc.message, {"reason": exc.code}) from None
    request.state.key_id = key.id
    rt.usage.note(key.id, now, client_address(request))
    return Actor.of_key(key)


def client_address(request: Request) -> str | None:
    """The caller's address (the data plane asks on every request: read off the scope)."""
    client = request.scope.get("client")
    return client[0] if client else None


def note_refusal(request: Request, refused: KeyRefused, now: datetime) -> None:
    """A dead key's refusal: counted against it (``refused_since_revoke``) and in the access log."""
    if refused.key_id is not None:
        request.state.key_id = refused.key_id
        runtime(request).usage.refused(refused.key_id, now, client_address(request))


async def json_body(request: Request) -> dict:
    """The parsed body (cached by Starlette) for rules whose path names a body field."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return {}
    try:
        body = await request.json()
    except Exception:
        return {}
    return body if isinstance(body, dict) else {}


def _fill(template: str, request: Request, body: dict) -> tuple[str, bool]:
    """Fill ``{param}``, ``{body.x}``, ``{query.x}``; False when a value is unusable."""
    out, usable = [], True
    for segment in template.split("/"):
        if not (segment.startswith("{") and segment.endswith("}")):
            out.append(segment)
            continue
        name = segment[1:-1]
        if name.startswith("body."):
            value = body.get(name[5:])
        elif name.startswith("query."):
            value = request.query_params.get(name[6:])
        else:
            value = request.path_params.get(name)
        # Only a whole-segment star is a wildcard; a partial one ("x*y@example.com", a
        # valid email) is a literal and must be checked as one, not waved through as "some".
        if not isinstance(value, str) or not value or "/" in value or value.strip() != value or value in ("*", "**"):
            # Validation will refuse the request; check only that something here is reachable.
            out.append("*")
            usable = False
        else:
            out.append(value.lower() if "email" in name else value)
    return "/".join(out), usable


def enforce(rule: Rule, actor: Actor, request: Request, body: dict, session: Session) -> None:
    """Raise unless the actor holds the rule's capability and a scope for its path."""
    if actor.kind != "admin":
        raise ApiError(401, "unauthorized", "the admin API takes admin tokens (pha_...)")
    actor.require(rule.capability, rule.operation)  # before the paths: a key's path costs a lookup
    templates = rule.paths(request, body, session) if callable(rule.paths) else rule.paths
    targets: list[tuple[str, Reach]] = []
    for template in templates:
        path, usable = _fill(template, request, body)
        targets.append((path, rule.mode if usable else "some"))
    actor.require_reach(rule.capability, rule.operation, targets)


def authorize(request: Request, body: dict = Depends(json_body), session: Session = SessionDep) -> Actor:
    """Authenticate, then enforce the route's rule from ``POLICY``."""
    actor = authenticate(request, session)
    route = request.scope["route"]
    enforce(POLICY[route.name], actor, request, body, session)
    return actor


def request_context(request: Request) -> Context:
    """What the audit notes of the request: its id (see api/middleware.py) and the client's address."""
    return Context(request_id=request.scope.get("state", {}).get("request_id"), client=client_address(request))


Authorized = Depends(authorize)
InRequest = Depends(request_context)
