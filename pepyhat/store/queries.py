"""Reads and writes the operations share: rows by name, counts, minting a key, the superadmin count.

``now()`` is the service's clock (tests freeze it here); a missing row is a
``NotFound``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from pepyhat import keys, scopes
from pepyhat.errors import NotFound
from pepyhat.schemas import CAPABILITIES, SUPERADMIN_SCOPES
from pepyhat.store.tables import App, AppMember, Grant, Key, Role, User


def now() -> datetime:
    return datetime.now(timezone.utc)


def not_ended(ends, at: datetime):
    """``ends`` (an expiry column) still ahead at ``at``; NULL never ends."""
    return or_(ends.is_(None), ends > at)


def live_grant(at: datetime):
    """An expired grant counts as absent."""
    return not_ended(Grant.expires_at, at)


def live_key(at: datetime):
    return (Key.revoked_at.is_(None)) & not_ended(Key.expires_at, at)


def get_app(session: Session, slug: str) -> App:
    app = session.scalar(select(App).where(App.slug == slug))
    if app is None:
        raise NotFound("app", slug)
    return app


def get_role(session: Session, app: App, slug: str) -> Role:
    role = session.scalar(select(Role).where(Role.app_id == app.id, Role.slug == slug))
    if role is None:
        raise NotFound("role", f"{app.slug}/{slug}")
    return role


def get_user(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.lower()))
    if user is None:
        raise NotFound("user", email.lower())
    return user


def get_key(session: Session, key_id: str) -> Key:
    key = session.get(Key, key_id)
    if key is None:
        raise NotFound("key", key_id)
    return key


def key_by_hash(session: Session, digest: str) -> Key | None:
    return session.scalar(select(Key).where(Key.hash == digest))


def app_counts(session: Session, app_ids: Iterable[int]) -> dict[int, tuple[int, int, int]]:
    """app id -> (roles, members with a live grant, active keys)."""
    ids = list(app_ids)
    if not ids:
        return {}
    at = now()
    roles = dict(session.execute(select(Role.app_id, func.count()).where(Role.app_id.in_(ids)).group_by(Role.app_id)).all())
    # Along the apps' own rows of app_members, not every grant of their roles (2.7 s at 1M users).
    members = dict(
        session.execute(
            select(AppMember.app_id, func.count())
            .where(AppMember.app_id.in_(ids), not_ended(AppMember.live_until, at))
            .group_by(AppMember.app_id)
        ).all()
    )
    active = dict(
        session.execute(
            select(Key.app_id, func.count()).where(Key.app_id.in_(ids), live_key(at)).group_by(Key.app_id)
        ).all()
    )
    return {i: (roles.get(i, 0), members.get(i, 0), active.get(i, 0)) for i in ids}


def create_key(
    session: Session,
    *,
    name: str,
    kind: str,
    app: App | None,
    scopes: list[dict],
    capabilities: list[str],
    rate_limit_per_minute: int | None,
    expires_at: datetime | None,
    created_by: str,
    rng=None,
) -> tuple[Key, str]:
    """Mint a key; returns the row and the plaintext, which only the caller ever sees."""
    plaintext = keys.mint(kind, rng)  # type: ignore[arg-type]
    row = Key(
        id=keys.new_id(rng),
        name=name,
        kind=kind,
        app_id=app.id if app else None,
        app_slug=app.slug if app else None,
        hash=keys.digest(plaintext),
        start=keys.start_of(plaintext),
        scopes=scopes,
        capabilities=sorted(capabilities),
        rate_limit_per_minute=rate_limit_per_minute,
        created_at=now(),
        created_by=created_by,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return row, plaintext


def is_superadmin(key: Key) -> bool:
    """An admin token holding every capability, with scopes covering the superadmin's."""
    if key.kind != "admin" or not set(CAPABILITIES) <= set(key.capabilities):
        return False
    return all(
        any(scopes.ops_cover(s["operations"], want.operations) and scopes.covers(s["path"], want.path) for s in key.scopes)
        for want in SUPERADMIN_SCOPES
    )


SUPERADMIN_LOCK = 0x70686174  # pg_advisory_xact_lock key for the last-superadmin check


def _lock_superadmins(session: Session, excluding: str | None) -> None:
    """Serialize last-superadmin checks until commit, so two concurrent revocations
    cannot each count the other's token as the survivor."""
    if session.get_bind().dialect.name == "postgresql":
        if excluding is not None:  # the target row first, as update_key's flush does: one lock order, no deadlock
            session.execute(select(Key.id).where(Key.id == excluding).with_for_update())
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SUPERADMIN_LOCK})
    else:
        # SQLite has one writer: a no-op write takes the database write lock until commit.
        session.execute(text("UPDATE keys SET id = id WHERE 0 = 1"))


def live_superadmins(session: Session, at: datetime, excluding: str | None = None) -> int:
    _lock_superadmins(session, excluding)
    stmt = select(Key).where(Key.kind == "admin", live_key(at))
    if excluding is not None:
        stmt = stmt.where(Key.id != excluding)
    # Reload rows this session already holds (the caller's own token): another request may have just changed them.
    stmt = stmt.execution_options(populate_existing=True)
    return sum(1 for row in session.scalars(stmt) if is_superadmin(row))
