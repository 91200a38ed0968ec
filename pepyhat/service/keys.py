"""Keys: app keys (``phk_``, data plane) and admin tokens (``pha_``, admin API).

The plaintext exists only in what ``create_key``, ``rotate_key`` and
``ensure_superadmin`` return; the store keeps its hash, the audit its view.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pepyhat import audit, keys, paths, schemas
from pepyhat.errors import Invalid, InvalidField, KeyNotActive, LastSuperadmin
from pepyhat.service.actor import Actor, Context
from pepyhat.service.validate import future
from pepyhat.store import queries
from pepyhat.store.pages import like, paginate
from pepyhat.store.tables import App, Key

SUPERADMIN_NAME = "superadmin"


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
        last_used_from=key.last_used_from,
        refused_since_revoke=key.refused_since_revoke,
        revoked_at=key.revoked_at,
        revoked_by=key.revoked_by,
        revoke_reason=key.revoke_reason,
        status=key.status(now or queries.now()),
    )


def key_path(key: Key) -> str:
    return paths.key(key.kind, key.app_slug, key.id)


def _duration(text: str, field: str) -> timedelta:
    try:
        return schemas.parse_duration(text)
    except ValueError as exc:
        raise InvalidField(field, f"is not a valid duration: {exc}") from None


def _expiry(expires_in: str | None, expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_in is not None:
        span = _duration(expires_in, "expires_in")
        if span <= timedelta(0):  # a key born expired is a mistake
            raise InvalidField("expires_in", "must be more than 0s")
        return now + span
    if expires_at is not None:
        return future(expires_at, "expires_at", now)
    return None


def _superadmins_left(session: Session, key: Key, now: datetime) -> bool:
    return queries.live_superadmins(session, now, excluding=key.id) > 0


# -- reads ----------------------------------------------------------------------


def list_keys(
    session: Session,
    actor: Actor,
    *,
    app: str | None = None,
    kind: schemas.KeyKind | None = None,
    status: schemas.KeyStatus | None = None,
    q: str | None = None,
    expires_within: timedelta | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> schemas.Page[schemas.Key]:
    """Newest first.  ``q`` matches the name (any case), the start (exactly) or the whole id;
    ``expires_within`` keeps the active keys that expire within that span from now."""
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
    if expires_within is not None:
        stmt = stmt.where(queries.live_key(now), Key.expires_at <= now + expires_within)
    if q:
        pattern = like(q)
        stmt = stmt.where(
            or_(Key.name.ilike(pattern, escape="\\"), Key.start.like(pattern, escape="\\"), Key.id == q)
        )
    visible = actor.visible(paths.ALL_KEYS, key_path)
    rows, next_cursor, has_more = paginate(
        session, stmt, [Key.created_at, Key.id], limit, cursor, descending=True, visible=visible
    )
    return schemas.Page(data=[key_view(k, now) for k in rows], next_cursor=next_cursor, has_more=has_more)


def get_key(session: Session, key_id: str) -> schemas.Key:
    return key_view(queries.get_key(session, key_id))


def lookup_key(session: Session, actor: Actor, context: Context, body: schemas.KeyLookup) -> schemas.Page[schemas.Key]:
    """Identify a leaked key from its plaintext or its start; audited, for it handles a secret."""
    if body.key is not None:
        try:
            keys.parse(body.key)
        except keys.MalformedKey as exc:
            raise Invalid("invalid_key", f"not a Pepy Hat key: {exc}", {"field": "key"}) from None
        match = queries.key_by_hash(session, keys.digest(body.key))
        rows = [match] if match is not None else []
        by = "key"
    else:
        if not keys.is_start(body.start or ""):
            raise Invalid("invalid_start", "a key start is phk_ or pha_ plus 6 characters", {"field": "start"})
        rows = session.scalars(select(Key).where(Key.start == body.start).order_by(Key.created_at.desc()).limit(50)).all()
        by = "start"
    now = queries.now()
    found = [k for k in rows if actor.can(key_path(k), "read")]
    target = key_path(found[0]) if len(found) == 1 else paths.KEYS
    audit.record(session, actor, context, "key.lookup", target, after={"by": by, "matches": [k.id for k in found]})
    return schemas.Page(data=[key_view(k, now) for k in found])


# -- writes ---------------------------------------------------------------------


def create_key(session: Session, actor: Actor, context: Context, body: schemas.KeyCreate) -> schemas.KeyCreated:
    """Mint a key.  Unless given, an app key's scopes are its app's authz; a token's, its minter's."""
    now = queries.now()
    app = queries.get_app(session, body.app) if body.kind == "app" else None  # type: ignore[arg-type]
    if body.scopes is not None:
        scope_list = body.scopes
    elif app is not None:
        scope_list = schemas.app_key_scopes(app.slug)
    else:
        scope_list = list(actor.scopes)  # an admin token inherits its minter's reach unless narrowed
    actor.require_grantable(body.capabilities, scope_list)
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
        created_by=actor.name,
    )
    view = key_view(row, now)
    audit.record(session, actor, context, "key.create", key_path(row), after=view)
    return schemas.KeyCreated(**view.model_dump(), key=plaintext)


def ensure_superadmin(session: Session, actor: Actor, context: Context) -> schemas.KeyCreated | None:
    """Mint a superadmin token unless an active one exists (``pepyhat init``)."""
    if queries.live_superadmins(session, queries.now()) > 0:
        return None
    body = schemas.KeyCreate(
        name=SUPERADMIN_NAME,
        kind="admin",
        scopes=list(schemas.SUPERADMIN_SCOPES),
        capabilities=list(schemas.CAPABILITIES),
    )
    return create_key(session, actor, context, body)


def update_key(session: Session, actor: Actor, context: Context, key_id: str, body: schemas.KeyUpdate) -> schemas.Key:
    """Edit an active key; what it may hold after the edit must not exceed the editor's reach."""
    now = queries.now()
    key = queries.get_key(session, key_id)
    before = key_view(key, now)
    if before.status != "active":
        raise KeyNotActive(key_id, before.status, "edited")
    changed = body.model_dump(exclude_unset=True)  # (null only where the model allows it: no limit, no expiry)
    if key.kind == "app" and changed.get("capabilities"):
        raise InvalidField("capabilities", "are not for app keys")
    if body.expires_at is not None:
        future(body.expires_at, "expires_at", now)
    new_scopes = body.scopes if "scopes" in changed else before.scopes
    new_caps = sorted(set(body.capabilities)) if "capabilities" in changed else before.capabilities
    actor.require_grantable(new_caps, new_scopes)  # type: ignore[arg-type]
    shortened = body.expires_at is not None and (key.expires_at is None or body.expires_at < key.expires_at)
    was_superadmin = queries.is_superadmin(key)
    if "name" in changed:
        key.name = body.name  # type: ignore[assignment]
    if "scopes" in changed:
        key.scopes = [s.model_dump() for s in new_scopes]
    if "capabilities" in changed:
        key.capabilities = new_caps
    if "rate_limit_per_minute" in changed:
        key.rate_limit_per_minute = body.rate_limit_per_minute
    if "expires_at" in changed:
        key.expires_at = body.expires_at
    if was_superadmin and (shortened or not queries.is_superadmin(key)) and not _superadmins_left(session, key, now):
        raise LastSuperadmin(key.id, "narrowing or shortening")
    session.flush()
    after = key_view(key, now)
    audit.record(session, actor, context, "key.update", key_path(key), before, after)
    return after


def revoke_key(session: Session, actor: Actor, context: Context, key_id: str, reason: str | None = None) -> schemas.Key:
    """Revoke; the record stays.  Revoking a revoked key changes nothing and records nothing."""
    now = queries.now()
    key = queries.get_key(session, key_id)
    if key.revoked_at is not None:
        return key_view(key, now)
    if key.status(now) == "active" and queries.is_superadmin(key) and not _superadmins_left(session, key, now):
        raise LastSuperadmin(key.id, "revoking or shortening")
    before = key_view(key, now)
    key.revoked_at = now
    key.revoked_by = actor.name
    key.revoke_reason = reason
    session.flush()
    after = key_view(key, now)
    audit.record(session, actor, context, "key.revoke", key_path(key), before, after)
    return after


def rotate_key(
    session: Session, actor: Actor, context: Context, key_id: str, body: schemas.KeyRotate | None = None
) -> schemas.KeyRotated:
    """Mint a successor with the same settings; the old key lives on for ``grace`` at most."""
    now = queries.now()
    body = body or schemas.KeyRotate()
    grace = _duration(body.grace, "grace")
    old = queries.get_key(session, key_id)
    before = key_view(old, now)
    if before.status != "active":
        raise KeyNotActive(key_id, before.status, "rotated")
    actor.require_grantable(old.capabilities, before.scopes)
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
        expires_at=now + min(lifetime, schemas.MAX_DURATION) if lifetime is not None else None,
        created_by=actor.name,
    )
    cutoff = now + grace
    old.expires_at = cutoff if old.expires_at is None else min(cutoff, old.expires_at)
    session.flush()
    previous = key_view(old, now)
    created = key_view(successor, now)
    audit.record(session, actor, context, "key.rotate", key_path(old), before, previous)
    audit.record(
        session, actor, context, "key.create", key_path(successor),
        after={**created.model_dump(mode="json"), "rotated_from": old.id},
    )
    return schemas.KeyRotated(**created.model_dump(), key=plaintext, previous=previous)
