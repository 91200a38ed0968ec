"""Permissions: the strings an app checks, grouped into roles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pepyhat import audit, paths, schemas
from pepyhat.errors import Conflict, NotFound
from pepyhat.service.actor import Actor, Context
from pepyhat.store import queries
from pepyhat.store.pages import paginate, search
from pepyhat.store.tables import Permission


def permission_view(app_slug: str, perm: Permission) -> schemas.Permission:
    return schemas.Permission(app=app_slug, slug=perm.slug, description=perm.description, created_at=perm.created_at)


def list_permissions(
    session: Session, actor: Actor, slug: str, *, q: str | None = None, limit: int = 50, cursor: str | None = None
) -> schemas.Page[schemas.Permission]:
    app = queries.get_app(session, slug)
    stmt = select(Permission).where(Permission.app_id == app.id)
    if q:
        stmt = stmt.where(search(q, Permission.slug, Permission.description))
    visible = actor.visible(paths.permission(slug, paths.ANY), lambda p: paths.permission(slug, p.slug))
    rows, next_cursor, has_more = paginate(session, stmt, [Permission.slug], limit, cursor, visible=visible)
    return schemas.Page(data=[permission_view(slug, p) for p in rows], next_cursor=next_cursor, has_more=has_more)


def create_permission(
    session: Session, actor: Actor, context: Context, slug: str, body: schemas.PermissionCreate
) -> schemas.Permission:
    app = queries.get_app(session, slug)
    exists = session.scalar(select(Permission.id).where(Permission.app_id == app.id, Permission.slug == body.slug))
    if exists is not None:
        raise Conflict(f"permission {body.slug!r} already exists in {slug!r}", app=slug, permission=body.slug)
    perm = Permission(app_id=app.id, slug=body.slug, description=body.description, created_at=queries.now())
    session.add(perm)
    session.flush()
    view = permission_view(slug, perm)
    audit.record(session, actor, context, "permission.create", paths.permission(slug, perm.slug), after=view)
    return view


def delete_permission(session: Session, actor: Actor, context: Context, slug: str, perm: str) -> None:
    app = queries.get_app(session, slug)
    row = session.scalar(select(Permission).where(Permission.app_id == app.id, Permission.slug == perm))
    if row is None:
        raise NotFound("permission", f"{slug}/{perm}")
    before = permission_view(slug, row)
    session.delete(row)  # role_permissions rows go with it (ON DELETE CASCADE)
    audit.record(session, actor, context, "permission.delete", paths.permission(slug, perm), before=before)
