"""Members of an app: users with their grants there, and granting or removing roles."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pepyhat import audit, schemas
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.pagination import Cursor, Limit, Search, like, paginate
from pepyhat.api.runtime import SessionDep
from pepyhat.errors import ApiError
from pepyhat.store import queries
from pepyhat.store.tables import Grant, Permission, Role, RolePermission, User

router = APIRouter(prefix="/api/v1/apps/{slug}/members", tags=["members"])


def _grant_info(grant: Grant, role_slug: str, at) -> schemas.GrantInfo:
    return schemas.GrantInfo(
        role=role_slug,
        granted_by=grant.granted_by,
        granted_at=grant.granted_at,
        expires_at=grant.expires_at,
        expired=grant.expires_at is not None and grant.expires_at <= at,
    )


@router.get("", response_model=schemas.Page[schemas.Member])
def list_members(
    slug: str,
    session: Session = SessionDep,
    principal: Principal = Authorized,
    q: str | None = Search,
    role: str | None = Query(None, max_length=63, description="Only users holding this role (live grants)"),
    permission: str | None = Query(None, max_length=128, description="Only users granted this permission (live grants)"),
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    app = queries.app_or_404(session, slug)
    at = queries.now()
    holders = select(Grant.user_id).join(Role, Role.id == Grant.role_id).where(Role.app_id == app.id)
    if role is not None or permission is not None:
        holders = holders.where(queries.live_grant(at))
    if role is not None:
        holders = holders.where(Role.slug == role)
    if permission is not None:
        holders = (
            holders.join(RolePermission, RolePermission.role_id == Role.id)
            .join(Permission, Permission.id == RolePermission.permission_id)
            .where(Permission.slug == permission)
        )
    stmt = select(User).where(User.id.in_(holders))
    if q:
        stmt = stmt.where(or_(User.email.ilike(like(q), escape="\\"), User.name.ilike(like(q), escape="\\")))
    visible = (
        None
        if principal.can_all(f"apps/{slug}/members/*", "read")
        else (lambda u: principal.can(f"apps/{slug}/members/{u.email}", "read"))
    )
    users, next_cursor, has_more = paginate(session, stmt, [User.email], limit, cursor, visible=visible)
    grants: dict[int, list[schemas.GrantInfo]] = defaultdict(list)
    if users:
        rows = session.execute(
            select(Grant, Role.slug)
            .join(Role, Role.id == Grant.role_id)
            .where(Role.app_id == app.id, Grant.user_id.in_([u.id for u in users]))
            .order_by(Role.slug)
        )
        for grant, role_slug in rows:
            grants[grant.user_id].append(_grant_info(grant, role_slug, at))
    data = [schemas.Member(email=u.email, name=u.name, active=u.active, grants=grants[u.id]) for u in users]
    return schemas.Page(data=data, next_cursor=next_cursor, has_more=has_more)


@router.put("/{email}/roles/{role}", response_model=schemas.Grant)
def put_grant(
    slug: str,
    email: str,
    role: str,
    request: Request,
    body: schemas.GrantPut | None = None,
    session: Session = SessionDep,
    principal: Principal = Authorized,
):
    app = queries.app_or_404(session, slug)
    role_row = queries.role_or_404(session, app, role)
    user = queries.user_or_404(session, email)
    at = queries.now()
    expires_at = body.expires_at if body else None
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ApiError(422, "validation_error", "expires_at needs a UTC offset", {"fields": [{"field": "expires_at"}]})
        if expires_at <= at:
            raise ApiError(422, "validation_error", "expires_at is in the past", {"fields": [{"field": "expires_at"}]})
    grant = session.get(Grant, (user.id, role_row.id))
    target = f"apps/{slug}/members/{user.email}/roles/{role}"
    if grant is None:
        grant = Grant(user_id=user.id, role_id=role_row.id, granted_by=principal.label, granted_at=at, expires_at=expires_at)
        session.add(grant)
        session.flush()
        view = schemas.Grant(app=slug, email=user.email, **_grant_info(grant, role, at).model_dump())
        audit.record(session, request, principal, "grant.add", target, after=view)
        return view
    before = schemas.Grant(app=slug, email=user.email, **_grant_info(grant, role, at).model_dump())
    if grant.expires_at != expires_at:
        grant.expires_at = expires_at
        session.flush()
    view = schemas.Grant(app=slug, email=user.email, **_grant_info(grant, role, at).model_dump())
    if view != before:
        audit.record(session, request, principal, "grant.update", target, before, view)
    return view


@router.delete("/{email}/roles/{role}", status_code=204)
def delete_grant(
    slug: str, email: str, role: str, request: Request, session: Session = SessionDep, principal: Principal = Authorized
):
    app = queries.app_or_404(session, slug)
    role_row = queries.role_or_404(session, app, role)
    user = queries.user_or_404(session, email)
    grant = session.get(Grant, (user.id, role_row.id))
    if grant is not None:
        before = schemas.Grant(app=slug, email=user.email, **_grant_info(grant, role, queries.now()).model_dump())
        session.delete(grant)
        audit.record(session, request, principal, "grant.remove", f"apps/{slug}/members/{user.email}/roles/{role}", before=before)
    return Response(status_code=204)
