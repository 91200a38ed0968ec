"""Roles: named sets of an app's permissions, granted to users."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, Request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from pepyhat import audit, schemas
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.pagination import Cursor, Limit, Search, like, paginate
from pepyhat.api.runtime import SessionDep
from pepyhat.errors import ApiError, conflict
from pepyhat.store import queries
from pepyhat.store.tables import App, Grant, Permission, Role, RolePermission

router = APIRouter(prefix="/api/v1/apps/{slug}/roles", tags=["roles"])


def _member_counts(session: Session, role_ids: list[int]) -> dict[int, int]:
    if not role_ids:
        return {}
    stmt = (
        select(Grant.role_id, func.count())
        .where(Grant.role_id.in_(role_ids), queries.live_grant(queries.now()))
        .group_by(Grant.role_id)
    )
    return dict(session.execute(stmt).all())


def role_view(app_slug: str, role: Role, members: int) -> schemas.Role:
    return schemas.Role(
        app=app_slug,
        slug=role.slug,
        name=role.name,
        description=role.description,
        permissions=sorted(p.slug for p in role.permissions),
        member_count=members,
        created_at=role.created_at,
    )


def _view_one(session: Session, app_slug: str, role: Role) -> schemas.Role:
    return role_view(app_slug, role, _member_counts(session, [role.id]).get(role.id, 0))


def _resolve_permissions(session: Session, app: App, slugs: list[str]) -> list[Permission]:
    wanted = sorted(set(slugs))
    if not wanted:
        return []
    found = session.scalars(select(Permission).where(Permission.app_id == app.id, Permission.slug.in_(wanted))).all()
    missing = sorted(set(wanted) - {p.slug for p in found})
    if missing:
        raise ApiError(
            422,
            "unknown_permission",
            f"app {app.slug!r} has no permission {missing[0]!r}; create it first",
            {"app": app.slug, "permissions": missing},
        )
    return list(found)


@router.get("", response_model=schemas.Page[schemas.Role])
def list_roles(
    slug: str,
    session: Session = SessionDep,
    principal: Principal = Authorized,
    q: str | None = Search,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    app = queries.app_or_404(session, slug)
    stmt = select(Role).where(Role.app_id == app.id).options(selectinload(Role.permissions))
    if q:
        stmt = stmt.where(or_(Role.slug.ilike(like(q), escape="\\"), Role.name.ilike(like(q), escape="\\")))
    visible = (
        None
        if principal.can_all(f"apps/{slug}/roles/*", "read")
        else (lambda r: principal.can(f"apps/{slug}/roles/{r.slug}", "read"))
    )
    rows, next_cursor, has_more = paginate(session, stmt, [Role.slug], limit, cursor, visible=visible)
    counts = _member_counts(session, [r.id for r in rows])
    return schemas.Page(
        data=[role_view(slug, r, counts.get(r.id, 0)) for r in rows], next_cursor=next_cursor, has_more=has_more
    )


@router.post("", status_code=201, response_model=schemas.Role)
def create_role(
    slug: str, body: schemas.RoleCreate, request: Request, session: Session = SessionDep, principal: Principal = Authorized
):
    app = queries.app_or_404(session, slug)
    if session.scalar(select(Role.id).where(Role.app_id == app.id, Role.slug == body.slug)) is not None:
        raise conflict(f"role {body.slug!r} already exists in {slug!r}", app=slug, role=body.slug)
    perms = _resolve_permissions(session, app, body.permissions)
    now = queries.now()
    role = Role(app_id=app.id, slug=body.slug, name=body.name, description=body.description, created_at=now, updated_at=now)
    role.permissions = perms
    session.add(role)
    session.flush()
    view = role_view(slug, role, 0)
    audit.record(session, request, principal, "role.create", f"apps/{slug}/roles/{role.slug}", after=view)
    return view


@router.get("/{role}", response_model=schemas.Role)
def get_role(slug: str, role: str, session: Session = SessionDep, principal: Principal = Authorized):
    app = queries.app_or_404(session, slug)
    return _view_one(session, slug, queries.role_or_404(session, app, role))


def _impact(session: Session, app: App, role: Role, old: set[str], new: set[str]) -> schemas.RoleImpact:
    """How many of the role's members newly hold, or no longer hold, each changed permission."""
    at = queries.now()
    members = session.scalars(select(Grant.user_id).where(Grant.role_id == role.id, queries.live_grant(at))).all()
    impact = schemas.RoleImpact(members=len(members))
    added, removed = new - old, old - new
    if not members or not (added or removed):
        return impact
    elsewhere: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(
        select(Grant.user_id, Permission.slug)
        .join(Role, Role.id == Grant.role_id)
        .join(RolePermission, RolePermission.role_id == Role.id)
        .join(Permission, Permission.id == RolePermission.permission_id)
        .where(Role.app_id == app.id, Role.id != role.id, Grant.user_id.in_(members), queries.live_grant(at))
    )
    for user_id, perm in rows:
        elsewhere[user_id].add(perm)
    for perm in sorted(added):
        count = sum(1 for m in members if perm not in elsewhere[m])
        if count:
            impact.gained[perm] = count
    for perm in sorted(removed):
        count = sum(1 for m in members if perm not in elsewhere[m])
        if count:
            impact.lost[perm] = count
    return impact


@router.patch("/{role}", response_model=schemas.RoleUpdated)
def update_role(
    slug: str,
    role: str,
    body: schemas.RoleUpdate,
    request: Request,
    session: Session = SessionDep,
    principal: Principal = Authorized,
):
    app = queries.app_or_404(session, slug)
    row = queries.role_or_404(session, app, role)
    before = _view_one(session, slug, row)
    changes = body.model_dump(exclude_unset=True)
    for field in ("name", "description"):
        if field in changes:
            if changes[field] is None:
                raise ApiError(422, "validation_error", f"{field} may not be null", {"fields": [{"field": field}]})
            setattr(row, field, changes[field])
    old = set(before.permissions)
    new = old
    if "permissions" in changes:
        if changes["permissions"] is None:
            raise ApiError(422, "validation_error", "permissions may not be null", {"fields": [{"field": "permissions"}]})
        perms = _resolve_permissions(session, app, changes["permissions"])
        new = {p.slug for p in perms}
        impact = _impact(session, app, row, old, new)
        row.permissions = perms
    else:
        impact = _impact(session, app, row, old, old)
    row.updated_at = queries.now()
    session.flush()
    after = _view_one(session, slug, row)
    audit.record(session, request, principal, "role.update", f"apps/{slug}/roles/{role}", before, after)
    return schemas.RoleUpdated(**after.model_dump(), impact=impact)


@router.delete("/{role}", status_code=204)
def delete_role(slug: str, role: str, request: Request, session: Session = SessionDep, principal: Principal = Authorized):
    app = queries.app_or_404(session, slug)
    row = queries.role_or_404(session, app, role)
    before = _view_one(session, slug, row)
    session.delete(row)  # its grants go with it (ON DELETE CASCADE)
    audit.record(session, request, principal, "role.delete", f"apps/{slug}/roles/{role}", before=before)
