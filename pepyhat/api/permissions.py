"""Permissions: the strings an app checks, grouped into roles."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized, InRequest
from pepyhat.api.pagination import Cursor, Limit, Search
from pepyhat.api.runtime import SessionDep
from pepyhat.service import permissions
from pepyhat.service.actor import Actor, Context

router = APIRouter(prefix="/api/v1/apps/{slug}/permissions", tags=["permissions"])


@router.get("", response_model=schemas.Page[schemas.Permission])
def list_permissions(
    slug: str,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    q: str | None = Search,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    return permissions.list_permissions(session, actor, slug, q=q, limit=limit, cursor=cursor)


@router.post("", status_code=201, response_model=schemas.Permission)
def create_permission(
    slug: str,
    body: schemas.PermissionCreate,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    return permissions.create_permission(session, actor, context, slug, body)


@router.delete("/{perm}", status_code=204)
def delete_permission(
    slug: str, perm: str, session: Session = SessionDep, actor: Actor = Authorized, context: Context = InRequest
):
    permissions.delete_permission(session, actor, context, slug, perm)
