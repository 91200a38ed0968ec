"""Permissions: the strings an app checks, grouped into roles."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pepyhat import audit, schemas
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.pagination import Cursor, Limit, Search, like, paginate
from pepyhat.api.runtime import SessionDep
from pepyhat.errors import conflict, not_found
from pepyhat.store import queries
from pepyhat.store.tables import Permission

router = APIRouter(prefix="/api/v1/apps/{slug}/permissions", tags=["permissions"])


def permission_view(app_slug: str, perm: Permission) -> schemas.Permission:
    return schemas.Permission(app=app_slug, slug=perm.slug, description=perm.description, created_at=perm.created_at)


@router.get("", response_model=schemas.Page[schemas.Permission])
def list_permissions(
    slug: str,
    session: Session = SessionDep,
    principal: Principal = Authorized,
    q: str | None = Search,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    app = queries.app_or_404(session, slug)
    stmt = select(Permission).where(Permission.app_id == app.id)
    if q:
        stmt = stmt.where(or_(Permission.slug.ilike(like(q), escape="\\"), Permission.description.ilike(like(q), escape="\\")))
    pattern = f"apps/{slug}/permissions/*"
    visible = None if principal.can_all(pattern, "read") else (lambda p: principal.can(f"apps/{slug}/permissions/{p.slug}", "read"))
    rows, next_cursor, has_more = paginate(session, stmt, [Permission.slug], limit, cursor, visible=visible)
    return schemas.Page(data=[permission_view(slug, p) for p in rows], next_cursor=next_cursor, has_more=has_more)


@router.post("", status_code=201, response_model=schemas.Permission)
def create_permission(
    slug: str, body: schemas.PermissionCreate, request: Request, session: Session = SessionDep, principal: Principal = Authorized
):
    app = queries.app_or_404(session, slug)
    exists = session.scalar(select(Permission.id).where(Permission.app_id == app.id, Permission.slug == body.slug))
    if exists is not None:
        raise conflict(f"permission {body.slug!r} already exists in {slug!r}", app=slug, permission=body.slug)
    perm = Permission(app_id=app.id, slug=body.slug, description=body.description, created_at=queries.now())
    session.add(perm)
    session.flush()
    view = permission_view(slug, perm)
    audit.record(session, request, principal, "permission.create", f"apps/{slug}/permissions/{perm.slug}", after=view)
    return view


@router.delete("/{perm}", status_code=204)
def delete_permission(
    slug: str, perm: str, request: Request, session: Session = SessionDep, principal: Principal = Authorized
):
    app = queries.app_or_404(session, slug)
    row = session.scalar(select(Permission).where(Permission.app_id == app.id, Permission.slug == perm))
    if row is None:
        raise not_found("permission", f"{slug}/{perm}")
    before = permission_view(slug, row)
    session.delete(row)  # role_permissions rows go with it (ON DELETE CASCADE)
    audit.record(session, request, principal, "permission.delete", f"apps/{slug}/permissions/{perm}", before=before)
