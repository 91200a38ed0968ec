"""Users: people who sign in with authentik, known by email."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pepyhat import audit, authz, schemas
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.pagination import Cursor, Limit, Search, like, paginate
from pepyhat.api.runtime import SessionDep
from pepyhat.errors import ApiError, conflict
from pepyhat.store import queries
from pepyhat.store.tables import User

router = APIRouter(prefix="/api/v1/users", tags=["users"])


def user_view(user: User) -> schemas.User:
    return schemas.User(email=user.email, name=user.name, active=user.active, created_at=user.created_at)


@router.get("", response_model=schemas.Page[schemas.User])
def list_users(
    session: Session = SessionDep,
    principal: Principal = Authorized,
    q: str | None = Search,
    active: bool | None = Query(None, description="Only active (true) or deactivated (false) users"),
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    stmt = select(User)
    if q:
        stmt = stmt.where(or_(User.email.ilike(like(q), escape="\\"), User.name.ilike(like(q), escape="\\")))
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    visible = None if principal.can_all("users/*", "read") else (lambda u: principal.can(f"users/{u.email}", "read"))
    rows, next_cursor, has_more = paginate(session, stmt, [User.email], limit, cursor, visible=visible)
    return schemas.Page(data=[user_view(u) for u in rows], next_cursor=next_cursor, has_more=has_more)


@router.post("", status_code=201, response_model=schemas.User)
def create_user(body: schemas.UserCreate, request: Request, session: Session = SessionDep, principal: Principal = Authorized):
    if session.scalar(select(User.id).where(User.email == body.email)) is not None:
        raise conflict(f"user {body.email!r} already exists", email=body.email)
    now = queries.now()
    user = User(email=body.email, name=body.name, active=body.active, created_at=now, updated_at=now)
    session.add(user)
    session.flush()
    view = user_view(user)
    audit.record(session, request, principal, "user.create", f"users/{user.email}", after=view)
    return view


@router.get("/{email}", response_model=schemas.User)
def get_user(email: str, session: Session = SessionDep, principal: Principal = Authorized):
    return user_view(queries.user_or_404(session, email))


@router.patch("/{email}", response_model=schemas.User)
def update_user(
    email: str, body: schemas.UserUpdate, request: Request, session: Session = SessionDep, principal: Principal = Authorized
):
    user = queries.user_or_404(session, email)
    before = user_view(user)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise ApiError(422, "validation_error", f"{field} may not be null", {"fields": [{"field": field}]})
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
    audit.record(session, request, principal, action, f"users/{user.email}", before, after)
    return after


@router.delete("/{email}", status_code=204)
def delete_user(email: str, request: Request, session: Session = SessionDep, principal: Principal = Authorized):
    user = queries.user_or_404(session, email)
    before = user_view(user)
    session.delete(user)  # grants go with it (ON DELETE CASCADE)
    audit.record(session, request, principal, "user.delete", f"users/{before.email}", before=before)


@router.get("/{email}/access", response_model=schemas.UserAccess)
def get_user_access(email: str, session: Session = SessionDep, principal: Principal = Authorized):
    user = queries.user_or_404(session, email)
    return authz.user_access(
        session.connection(),
        user,
        queries.now(),
        visible=lambda app: principal.can(f"apps/{app}/members/{user.email}", "read"),
    )
