"""Apps: the internal applications Pepy Hat authorizes for."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized, InRequest
from pepyhat.api.pagination import Cursor, Limit, Search
from pepyhat.api.runtime import SessionDep
from pepyhat.service import apps
from pepyhat.service.actor import Actor, Context

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])


@router.get("", response_model=schemas.Page[schemas.App])
def list_apps(
    session: Session = SessionDep,
    actor: Actor = Authorized,
    q: str | None = Search,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    return apps.list_apps(session, actor, q=q, limit=limit, cursor=cursor)


@router.post("", status_code=201, response_model=schemas.App)
def create_app(
    body: schemas.AppCreate, session: Session = SessionDep, actor: Actor = Authorized, context: Context = InRequest
):
    return apps.create_app(session, actor, context, body)


@router.get("/{slug}", response_model=schemas.App)
def get_app(slug: str, session: Session = SessionDep, actor: Actor = Authorized):
    return apps.get_app(session, slug)


@router.patch("/{slug}", response_model=schemas.App)
def update_app(
    slug: str,
    body: schemas.AppUpdate,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    return apps.update_app(session, actor, context, slug, body)


@router.delete("/{slug}", status_code=204)
def delete_app(
    slug: str,
    force: bool = Query(False, description="Revoke the app's live keys and delete anyway"),
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    apps.delete_app(session, actor, context, slug, force=force)
