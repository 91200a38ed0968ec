"""Users: people who sign in with authentik, known by email."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pepyhat import audit, paths, schemas
from pepyhat.errors import Conflict
from pepyhat.service.actor import Actor, Context
from pepyhat.store import queries
from pepyhat.store.pages import USERS, indexed_search, paginate
from pepyhat.store.tables import User


def user_view(user: User) -> schemas.User:
    return schemas.User(email=user.email, name=user.name, active=user.active, created_at=user.created_at)


def list_users(
    session: Session,
    actor: Actor,
    *,
    q: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> schemas.Page[schemas.User]:
    stmt = select(User)
    if q:
        stmt = stmt.where(indexed_search(session, USERS, q))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    visible = actor.visible(paths.ALL_USERS, lambda u: paths.user(u.email))
    rows, next_cursor, has_more = paginate(session, stmt, [User.email], limit, cursor, visible=visible)
    return schemas.Page(data=[user_view(u) for u in rows], next_cursor=next_cursor, has_more=has_more)


def get_user(session: Session, email: str) -> schemas.User:
    return user_view(queries.get_user(session, email))


def create_user(session: Session, actor: Actor, context: Context, body: schemas.UserCreate) -> schemas.User:
    if session.scalar(select(User.id).where(User.email == body.email)) is not None:
        raise Conflict(f"user {body.email!r} already exists", email=body.email)
    now = queries.now()
    user = User(email=body.email, name=body.name, active=body.active, created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    view = user_view(user)
    audit.record(session, actor, context, "user.create", paths.user(user.email), after=view)
    return view


def update_user(session: Session, actor: Actor, context: Context, email: str, body: schemas.UserUpdate) -> schemas.User:
    """Rename, deactivate or reactivate; a deactivated user keeps their grants but gets no access."""
    user = queries.get_user(session, email)
    before = user_view(user)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(user, field, value)
    user.updated_at = queries.now()
    session.flush()
    after = user_view(user)
    if before.active and not after.active:
        action = "user.deactivate"
    elif not before.active and after.active:
        action = "user.reactivate"
    else:
        action = "user.update"
    audit.record(session, actor, context, action, paths.user(user.email), before, after)
    return after


def delete_user(session: Session, actor: Actor, context: Context, email: str) -> None:
    user = queries.get_user(session, email)
    before = user_view(user)
    session.delete(user)  # grants go with it (ON DELETE CASCADE)
    audit.record(session, actor, context, "user.delete", paths.user(before.email), before=before)

