"""Users: people who sign in with authentik, known by email."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized, InRequest
from pepyhat.api.pagination import Cursor, Limit, Search
from pepyhat.api.runtime import SessionDep
from pepyhat.service import access, users
from pepyhat.service.actor import Actor, Context

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("", response_model=schemas.Page[schemas.User])
def list_users(
    session: Session = SessionDep,
    actor: Actor = Authorized,
    q: str | None = Search,
    active: bool | None = Query(None, description="Only active (true) or deactivated (false) users"),
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    return users.list_users(session, actor, q=q, active=active, limit=limit, cursor=cursor)


@router.post("", status_code=201, response_model=schemas.User)
def create_user(
    body: schemas.UserCreate, session: Session = SessionDep, actor: Actor = Authorized, context: Context = InRequest
):
    return users.create_user(session, actor, context, body)


@router.get("/{email}", response_model=schemas.User)
def get_user(email: str, session: Session = SessionDep, actor: Actor = Authorized):
    return users.get_user(session, email)


@router.patch("/{email}", response_model=schemas.User)
def update_user(
    email: str,
    body: schemas.UserUpdate,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    return users.update_user(session, actor, context, email, body)


@router.delete("/{email}", status_code=204)
def delete_user(email: str, session: Session = SessionDep, actor: Actor = Authorized, context: Context = InRequest):
    users.delete_user(session, actor, context, email)


@router.get("/{email}/access", response_model=schemas.UserAccess)
def get_user_access(email: str, session: Session = SessionDep, actor: Actor = Authorized):
    return access.user_access(session, actor, email)
