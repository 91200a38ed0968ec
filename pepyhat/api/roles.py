"""Roles: named sets of an app's permissions, granted to users."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized, InRequest
from pepyhat.api.pagination import Cursor, Limit, Search
from pepyhat.api.runtime import SessionDep
from pepyhat.service import roles
from pepyhat.service.actor import Actor, Context

router = APIRouter(prefix="/api/v1/apps/{slug}/roles", tags=["roles"])


@router.get("", response_model=schemas.Page[schemas.Role])
def list_roles(
    slug: str,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    q: str | None = Search,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    return roles.list_roles(session, actor, slug, q=q, limit=limit, cursor=cursor)


@router.post("", status_code=201, response_model=schemas.Role)
def create_role(
    slug: str,
    body: schemas.RoleCreate,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    return roles.create_role(session, actor, context, slug, body)


@router.get("/{role}", response_model=schemas.Role)
def get_role(slug: str, role: str, session: Session = SessionDep, actor: Actor = Authorized):
    return roles.get_role(session, slug, role)


@router.patch("/{role}", response_model=schemas.RoleUpdated)
def update_role(
    slug: str,
    role: str,
    body: schemas.RoleUpdate,
    dry_run: bool = Query(False, description="Say what the members would gain and lose; save nothing"),
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    return roles.update_role(session, actor, context, slug, role, body, dry_run=dry_run)


@router.delete("/{role}", status_code=204)
def delete_role(
    slug: str, role: str, session: Session = SessionDep, actor: Actor = Authorized, context: Context = InRequest
):
    roles.delete_role(session, actor, context, slug, role)
