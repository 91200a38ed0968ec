"""Roles: named sets of an app's permissions, granted to users."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from pepyhat import audit, paths, schemas
from pepyhat.errors import Conflict, Invalid
from pepyhat.service.actor import Actor, Context
from pepyhat.store import queries
from pepyhat.store.pages import paginate, search
from pepyhat.store.tables import App, Grant, Permission, Role, RolePermission


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


def _view(session: Session, app_slug: str, role: Role) -> schemas.Role:
    return role_view(app_slug, role, _member_counts(session, [role.id]).get(role.id, 0))


def _resolve_permissions(session: Session, app: App, slugs: list[str]) -> list[Permission]:
    wanted = sorted(set(slugs))
    if not wanted:
        return []
    found = session.scalars(select(Permission).where(Permission.app_id == app.id, Permission.slug.in_(wanted))).all()
    missing = sorted(set(wanted) - {p.slug for p in found})
    if missing:
        raise Invalid(
            "unknown_permission",
            f"app {app.slug!r} has no permission {missing[0]!r}; create it first",
            {"app": app.slug, "permissions": missing},
        )
    return list(found)


def list_roles(
    session: Session, actor: Actor, slug: str, *, q: str | None = None, limit: int = 50, cursor: str | None = None
) -> schemas.Page[schemas.Role]:
    app = queries.get_app(session, slug)
    stmt = select(Role).where(Role.app_id == app.id).options(selectinload(Role.permissions))
    if q:
        stmt = stmt.where(search(q, Role.slug, Role.name))
    visible = actor.visible(paths.role(slug, paths.ANY), lambda r: paths.role(slug, r.slug))
    rows, next_cursor, has_more = paginate(session, stmt, [Role.slug], limit, cursor, visible=visible)
    counts = _member_counts(session, [r.id for r in rows])
    return schemas.Page(
        data=[role_view(slug, r, counts.get(r.id, 0)) for r in rows], next_cursor=next_cursor, has_more=has_more
    )


def get_role(session: Session, slug: str, role: str) -> schemas.Role:
    app = queries.get_app(session, slug)
    return _view(session, slug, queries.get_role(session, app, role))


def create_role(session: Session, actor: Actor, context: Context, slug: str, body: schemas.RoleCreate) -> schemas.Role:
    app = queries.get_app(session, slug)
    if session.scalar(select(Role.id).where(Role.app_id == app.id, Role.slug == body.slug)) is not None:
        raise Conflict(f"role {body.slug!r} already exists in {slug!r}", app=slug, role=body.slug)
    perms = _resolve_permissions(session, app, body.permissions)
    now = queries.now()
    role = Role(app_id=app.id, slug=body.slug, name=body.name, description=body.description, created_at=now, updated_at=now)
    role.permissions = perms
    session.add(role)
    session.flush()
    view = role_view(slug, role, 0)
    audit.record(session, actor, context, "role.create", paths.role(slug, role.slug), after=view)
    return view


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


def update_role(
    session: Session, actor: Actor, context: Context, slug: str, role: str, body: schemas.RoleUpdate,
    *, dry_run: bool = False,
) -> schemas.RoleUpdated:
    """Rename, redescribe, or replace the permissions; the answer says what the members gain and lose.

    ``dry_run``: the same answer, checked the same way, but nothing is saved or audited:
    the preview an editor shows before the operator saves.
    """
    app = queries.get_app(session, slug)
    row = queries.get_role(session, app, role)
    before = _view(session, slug, row)
    changed = body.model_dump(exclude_unset=True)
    old = set(before.permissions)
    perms = _resolve_permissions(session, app, changed["permissions"]) if "permissions" in changed else None
    new = old if perms is None else {p.slug for p in perms}
    impact = _impact(session, app, row, old, new)
    if dry_run:
        after = before.model_copy(update={k: v for k, v in changed.items() if k in ("name", "description")})
        return schemas.RoleUpdated(**after.model_dump() | {"permissions": sorted(new)}, impact=impact)
    for field in ("name", "description"):
        if field in changed:
            setattr(row, field, changed[field])
    if perms is not None:
        row.permissions = perms
    row.updated_at = queries.now()
    session.flush()
    after = _view(session, slug, row)
    audit.record(session, actor, context, "role.update", paths.role(slug, role), before, after)
    return schemas.RoleUpdated(**after.model_dump(), impact=impact)


def delete_role(session: Session, actor: Actor, context: Context, slug: str, role: str) -> None:
    app = queries.get_app(session, slug)
    row = queries.get_role(session, app, role)
    before = _view(session, slug, row)
    session.delete(row)  # its grants go with it (ON DELETE CASCADE)
    audit.record(session, actor, context, "role.delete", paths.role(slug, role), before=before)
