"""Keys: app keys (``phk_``, data plane) and admin tokens (``pha_``, admin API)."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Query, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pepyhat import audit, keys, schemas
from pepyhat.api import convertors  # noqa: F401  (registers {key_id:key_id})
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.pagination import Cursor, Limit, Search, like, paginate
from pepyhat.api.policy import key_path
from pepyhat.api.runtime import SessionDep
from pepyhat.errors import ApiError
from pepyhat.store import queries
from pepyhat.store.tables import App, Key

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


def key_view(key: Key, now: datetime | None = None) -> schemas.Key:
    return schemas.Key(
        id=key.id,
        name=key.name,
        kind=key.kind,
        app=key.app_slug,
        start=key.start,
        scopes=[schemas.Scope.model_validate(s) for s in key.scopes],
        capabilities=list(key.capabilities),
        rate_limit_per_minute=key.rate_limit_per_minute,
        created_at=key.created_at,
        created_by=key.created_by,
        expires_at=key.expires_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
        revoked_by=key.revoked_by,
        revoke_reason=key.revoke_reason,
        status=key.status(now or queries.now()),
    )


def _path(key: Key) -> str:
    return key_path(key.kind, key.app_slug, key.id)


def _validation(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_error", f"{field}: {message}", {"fields": [{"field": field, "message": message}]})


def _future(value: datetime, field: str, now: datetime) -> datetime:
    if value.tzinfo is None:
        raise _validation(field, "needs a UTC offset, e.g. 2027-01-01T00:00:00Z")
    if value <= now:
        raise _validation(field, "is in the past")
    return value


def _expiry(expires_in: str | None, expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_in is not None:
        try:
            span = keys.parse_duration(expires_in)
        except ValueError as exc:
            raise _validation("expires_in", str(exc)) from None
        if span <= timedelta(0):
            raise _validation("expires_in", "is in the past")
        return now + span
    if expires_at is not None:
        return _future(expires_at, "expires_at", now)
    return None


def _guard_last_superadmin(session: Session, key: Key, now: datetime) -> None:
    if key.status(now) == "active" and queries.is_superadmin(key) and queries.live_superadmins(session, now, excluding=key.id) == 0:
        raise ApiError(
            409,
            "last_superadmin",
            "this is the last active superadmin token; mint another before revoking or shortening it",
            {"key": key.id},
        )


@router.get("", response_model=schemas.Page[schemas.Key])
def list_keys(
    session: Session = SessionDep,
    principal: Principal = Authorized,
    app: str | None = Query(None, max_length=63),
    kind: schemas.KeyKind | None = None,
    status: schemas.KeyStatus | None = None,
    q: str | None = Search,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    now = queries.now()
    stmt = select(Key)
    if app is not None:
        stmt = stmt.where(Key.app_slug == app)
    if kind is not None:
        stmt = stmt.where(Key.kind == kind)
    if status == "active":
        stmt = stmt.where(queries.live_key(now))
    elif status == "revoked":
        stmt = stmt.where(Key.revoked_at.is_not(None))
    elif status == "expired":
        stmt = stmt.where(Key.revoked_at.is_(None), Key.expires_at <= now)
    if q:
        pattern = like(q)
        stmt = stmt.where(
            or_(Key.name.ilike(pattern, escape="\\"), Key.start.like(pattern, escape="\\"), Key.id == q)
        )
    sees_all = principal.can_all("apps/*/keys/*", "read") and principal.can_all("tokens/*", "read")
    visible = None if sees_all else (lambda k: principal.can(_path(k), "read"))
    rows, next_cursor, has_more = paginate(
        session, stmt, [Key.created_at, Key.id], limit, cursor, descending=True, visible=visible
    )
    return schemas.Page(data=[key_view(k, now) for k in rows], next_cursor=next_cursor, has_more=has_more)


@router.post("", status_code=201, response_model=schemas.KeyCreated)
def create_key(body: schemas.KeyCreate, request: Request, session: Session = SessionDep, principal: Principal = Authorized):
    now = queries.now()
    app = queries.app_or_404(session, body.app) if body.kind == "app" else None
    if body.scopes is not None:
        scope_list = body.scopes
    elif app is not None:
        scope_list = [schemas.Scope.model_validate(s) for s in queries.default_app_scopes(app.slug)]
    else:
        scope_list = list(principal.scopes)  # an admin token inherits its minter's reach unless narrowed
    principal.require_grantable(body.capabilities, scope_list)
    expires_at = _expiry(body.expires_in, body.expires_at, now)
    row, plaintext = queries.create_key(
        session,
        name=body.name,
        kind=body.kind,
        app=app,
        scopes=[s.model_dump() for s in scope_list],
        capabilities=list(body.capabilities),
        rate_limit_per_minute=body.rate_limit_per_minute,
        expires_at=expires_at,
        created_by=principal.label,
    )
    view = key_view(row, now)
    audit.record(session, request, principal, "key.create", _path(row), after=view)
    return schemas.KeyCreated(**view.model_dump(), key=plaintext)


@router.post("/lookup", response_model=schemas.Page[schemas.Key])
def lookup_key(body: schemas.KeyLookup, request: Request, session: Session = SessionDep, principal: Principal = Authorized):
    """Identify a leaked key from its plaintext or its start. The secret travels only in this body."""
    if body.key is not None:
        try:
            keys.parse(body.key)
        except keys.MalformedKey as exc:
            raise ApiError(422, "invalid_key", f"not a Pepy Hat key: {exc}", {"field": "key"}) from None
        rows = session.scalars(select(Key).where(Key.hash == keys.digest(body.key))).all()
        by = "key"
    else:
        if not keys.is_start(body.start or ""):
            raise ApiError(422, "invalid_start", "a key start is phk_ or pha_ plus 6 characters", {"field": "start"})
        rows = session.scalars(select(Key).where(Key.start == body.start).order_by(Key.created_at.desc()).limit(50)).all()
        by = "start"
    now = queries.now()
    found = [k for k in rows if principal.can(_path(k), "read")]
    target = _path(found[0]) if len(found) == 1 else "keys"
    audit.record(session, request, principal, "key.lookup", target, after={"by": by, "matches": [k.id for k in found]})
    return schemas.Page(data=[key_view(k, now) for k in found])


@router.get("/{key_id:key_id}", response_model=schemas.Key)
def get_key(key_id: str, session: Session = SessionDep, principal: Principal = Authorized):
    return key_view(queries.key_or_404(session, key_id))


@router.patch("/{key_id:key_id}", response_model=schemas.Key)
def update_key(
    key_id: str, body: schemas.KeyUpdate, request: Request, session: Session = SessionDep, principal: Principal = Authorized
):
    now = queries.now()
    key = queries.key_or_404(session, key_id)
    before = key_view(key, now)
    if before.status != "active":
        raise ApiError(409, "key_not_active", f"key {key_id} is {before.status}; only active keys can be edited", {"key": key_id})
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name", "") is None:
        raise _validation("name", "may not be null")
    if "capabilities" in changes:
        if changes["capabilities"] is None:
            raise _validation("capabilities", "may not be null")
        if key.kind == "app" and changes["capabilities"]:
            raise _validation("capabilities", "app keys carry no capabilities")
    if "scopes" in changes and changes["scopes"] is None:
        raise _validation("scopes", "may not be null")
    if changes.get("expires_at") is not None:
        _future(body.expires_at, "expires_at", now)
    new_scopes = body.scopes if "scopes" in changes else before.scopes
    new_caps = sorted(set(body.capabilities)) if "capabilities" in changes else before.capabilities
    principal.require_grantable(new_caps, new_scopes)
    shortened = "expires_at" in changes and changes["expires_at"] is not None and (
        key.expires_at is None or body.expires_at < key.expires_at
    )
    was_superadmin = queries.is_superadmin(key)
    if "name" in changes:
        key.name = body.name
    if "scopes" in changes:
        key.scopes = [s.model_dump() for s in new_scopes]
    if "capabilities" in changes:
        key.capabilities = new_caps
    if "rate_limit_per_minute" in changes:
        key.rate_limit_per_minute = body.rate_limit_per_minute
    if "expires_at" in changes:
        key.expires_at = body.expires_at
    if was_superadmin and (shortened or not queries.is_superadmin(key)) and queries.live_superadmins(session, now, excluding=key.id) == 0:
        raise ApiError(
            409,
            "last_superadmin",
            "this is the last active superadmin token; mint another before narrowing or shortening it",
            {"key": key.id},
        )
    session.flush()
    after = key_view(key, now)
    audit.record(session, request, principal, "key.update", _path(key), before, after)
    return after


@router.delete("/{key_id:key_id}", response_model=schemas.Key)
def delete_key(
    key_id: str,
    request: Request,
    reason: str | None = Query(None, max_length=500, description="Why, for the record"),
    session: Session = SessionDep,
    principal: Principal = Authorized,
):
    """Revoke. The record stays; every node refuses the key from the next request on."""
    now = queries.now()
    key = queries.key_or_404(session, key_id)
    if key.revoked_at is not None:
        return key_view(key, now)  # already revoked: nothing to do, nothing to audit
    _guard_last_superadmin(session, key, now)
    before = key_view(key, now)
    key.revoked_at = now
    key.revoked_by = principal.label
    key.revoke_reason = reason
    session.flush()
    after = key_view(key, now)
    audit.record(session, request, principal, "key.revoke", _path(key), before, after)
    return after


@router.post("/{key_id:key_id}/rotate", status_code=201, response_model=schemas.KeyRotated)
def rotate_key(
    key_id: str,
    request: Request,
    body: schemas.KeyRotate | None = None,
    session: Session = SessionDep,
    principal: Principal = Authorized,
):
    """Mint a successor with the same settings; the old key lives on for ``grace`` at most."""
    now = queries.now()
    body = body or schemas.KeyRotate()
    try:
        grace = keys.parse_duration(body.grace)
    except ValueError as exc:
        raise _validation("grace", str(exc)) from None
    old = queries.key_or_404(session, key_id)
    before = key_view(old, now)
    if before.status != "active":
        raise ApiError(409, "key_not_active", f"key {key_id} is {before.status}; only active keys can be rotated", {"key": key_id})
    principal.require_grantable(old.capabilities, before.scopes)
    lifetime = old.expires_at - old.created_at if old.expires_at is not None else None
    successor, plaintext = queries.create_key(
        session,
        name=old.name,
        kind=old.kind,
        app=session.get(App, old.app_id) if old.app_id is not None else None,
        scopes=list(old.scopes),
        capabilities=list(old.capabilities),
        rate_limit_per_minute=old.rate_limit_per_minute,
        # An old expiry near year 9999 makes a lifetime that would carry the successor past the calendar.
        expires_at=now + min(lifetime, keys.MAX_DURATION) if lifetime is not None else None,
        created_by=principal.label,
    )
    cutoff = now + grace
    old.expires_at = cutoff if old.expires_at is None else min(cutoff, old.expires_at)
    session.flush()
    previous = key_view(old, now)
    created = key_view(successor, now)
    audit.record(session, request, principal, "key.rotate", _path(old), before, previous)
    audit.record(session, request, principal, "key.create", _path(successor), after={**created.model_dump(mode="json"), "rotated_from": old.id})
    return schemas.KeyRotated(**created.model_dump(), key=plaintext, previous=previous)

