"""Who is calling, and whether they may: the one dependency every admin route uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from pepyhat import keys, scopes
from pepyhat.errors import ApiError
from pepyhat.api.policy import POLICY, Rule
from pepyhat.api.runtime import SessionDep, runtime
from pepyhat.schemas import CAPABILITIES, Scope
from pepyhat.store.tables import Key

SUPERADMIN_SCOPES = (Scope(path="**", operations=["*"]),)


@dataclass(frozen=True)
class Principal:
    """The caller: an admin token, or the embedded dashboard's local operator."""

    id: str | None
    name: str
    kind: str
    capabilities: frozenset[str]
    scopes: tuple[Scope, ...]
    app: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return self.name

    def can(self, path: str, operation: str) -> bool:
        return any(scopes.allows(s.operations, operation) and scopes.matches(s.path, path) for s in self.scopes)

    def can_some(self, pattern: str, operation: str) -> bool:
        return any(scopes.allows(s.operations, operation) and scopes.intersects(s.path, pattern) for s in self.scopes)

    def can_all(self, pattern: str, operation: str) -> bool:
        return any(scopes.allows(s.operations, operation) and scopes.covers(s.path, pattern) for s in self.scopes)

    def covers_scope(self, scope: Scope) -> bool:
        return any(
            scopes.ops_cover(mine.operations, scope.operations) and scopes.covers(mine.path, scope.path)
            for mine in self.scopes
        )

    def require_grantable(self, capabilities: Iterable[str], key_scopes: Iterable[Scope]) -> None:
        """No escalation: a key may hold only what its minter holds."""
        missing = sorted(set(capabilities) - self.capabilities)
        uncovered = [s.model_dump() for s in key_scopes if not self.covers_scope(s)]
        if missing or uncovered:
            raise ApiError(
                403,
                "escalation_denied",
                "a key may only hold capabilities and scopes its creator holds",
                {"capabilities": missing, "scopes": uncovered},
            )


def principal_of(key: Key) -> Principal:
    return Principal(
        id=key.id,
        name=key.name,
        kind=key.kind,
        capabilities=frozenset(key.capabilities),
        scopes=tuple(Scope.model_validate(s) for s in key.scopes),
        app=key.app_slug,
    )


def embedded_principal(operator: str) -> Principal:
    return Principal(None, operator, "admin", frozenset(CAPABILITIES), SUPERADMIN_SCOPES)


class KeyRefused(Exception):
    """Why a presented key is refused: one of invalid_api_key, key_revoked, key_expired."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_key(session: Session, plaintext: str, kind: str | None, now: datetime) -> Key:
    """The live key for ``plaintext``; a malformed one never reaches the database."""
    try:
        actual = keys.parse(plaintext)
    except keys.MalformedKey as exc:
        raise KeyRefused("invalid_api_key", f"invalid API key: {exc}") from None
    if kind is not None and actual != kind:
        raise KeyRefused("invalid_api_key", f"invalid API key: an {kind} key is required here")
    key = session.scalar(select(Key).where(Key.hash == keys.digest(plaintext)))
    if key is None:
        raise KeyRefused("invalid_api_key", "invalid API key: unknown key")
    if key.revoked_at is not None:
        raise KeyRefused("key_revoked", "API key has been revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise KeyRefused("key_expired", "API key has expired")
    return key


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


def authenticate(request: Request, session: Session) -> Principal:
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
        return embedded_principal(rt.settings.embedded_operator)
    if not token:
        raise ApiError(401, "unauthorized", "missing admin token: send Authorization: Bearer pha_...")
    now = datetime.now(timezone.utc)
    try:
        key = check_key(session, token, "admin", now)
    except KeyRefused as exc:
        raise ApiError(401, "unauthorized", exc.message, {"reason": exc.code}) from None
    request.state.key_id = key.id
    rt.usage.note(key.id, now)
    return principal_of(key)


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


def _forbidden(rule: Rule, path: str, reason: str) -> ApiError:
    return ApiError(
        403,
        "forbidden",
        f"this token may not {rule.operation} {path}" if reason == "scope" else f"this token lacks {rule.capability}",
        {"required_capability": rule.capability, "required_scope": {"path": path, "operation": rule.operation}},
    )


def enforce(rule: Rule, principal: Principal, request: Request, body: dict, session: Session) -> list[str]:
    """Raise unless the principal holds the rule's capability and a scope for its path."""
    if principal.kind != "admin":
        raise ApiError(401, "unauthorized", "the admin API takes admin tokens (pha_...)")
    if rule.capability not in principal.capabilities:
        raise _forbidden(rule, "", "capability")
    templates = rule.paths(request, body, session) if callable(rule.paths) else rule.paths
    resolved = []
    for template in templates:
        path, usable = _fill(template, request, body)
        mode = rule.mode if usable else "some"
        check = {"one": principal.can, "some": principal.can_some, "all": principal.can_all}[mode]
        if check(path, rule.operation):
            resolved.append(path)
    if not resolved:
        shown, _ = _fill(templates[0], request, body)
        raise _forbidden(rule, shown, "scope")
    return resolved


def authorize(request: Request, body: dict = Depends(json_body), session: Session = SessionDep) -> Principal:
    """Authenticate, then enforce the route's rule from ``POLICY``."""
    principal = authenticate(request, session)
    route = request.scope["route"]
    enforce(POLICY[route.name], principal, request, body, session)
    return principal


Authorized = Depends(authorize)
