"""Members of an app: users with their grants there, and granting or removing roles."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from pepyhat import audit, paths, schemas
from pepyhat.authz import grant_info
from pepyhat.service.actor import Actor, Context
from pepyhat.service.validate import future
from pepyhat.store import queries
from pepyhat.store.pages import USERS, indexed_search, paginate
from pepyhat.store.tables import AppMember, Grant, Permission, Role, RolePermission, User


def _info(grant: Grant, role_slug: str, at: datetime) -> schemas.GrantInfo:
    return grant_info(role_slug, grant.granted_by, grant.granted_at, grant.expires_at, at)


def _grant_view(grant: Grant, slug: str, email: str, role: str, at: datetime) -> schemas.Grant:
    return schemas.Grant(app=slug, email=email, **_info(grant, role, at).model_dump())


def list_members(
    session: Session,
    actor: Actor,
    slug: str,
    *,
    q: str | None = None,
    role: str | None = None,
    permission: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    everyone: bool = False,
) -> schemas.Page[schemas.Member]:
    """Users with a grant in the app (any grant; with ``role`` or ``permission``, a live one giving it).

    ``everyone``: every user, those without any grant in the app too (with no grants),
    unless ``role`` or ``permission`` narrows the list to holders anyway.
    """
    app = queries.get_app(session, slug)
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
    stmt = select(User)
    order = User.email
    if q:
        # First: SQLite looks rows up by the first IN it is given, and a search is the narrower one.
        stmt = stmt.where(indexed_search(session, USERS, q))
    if role is not None or permission is not None:
        stmt = stmt.where(_held(session, holders))
    elif not everyone:
        # Walked in the app's own email order: a page, filtered or not, costs about its rows.
        stmt = stmt.join(AppMember, AppMember.user_id == User.id).where(AppMember.app_id == app.id)
        order = AppMember.email
    visible = actor.visible(paths.member(slug, paths.ANY), lambda u: paths.member(slug, u.email))
    users, next_cursor, has_more = paginate(session, stmt, [order], limit, cursor, visible=visible)
    grants: dict[int, list[schemas.GrantInfo]] = defaultdict(list)
    if users:
        rows = session.execute(
            select(Grant, Role.slug)
            .join(Role, Role.id == Grant.role_id)
            .where(Role.app_id == app.id, Grant.user_id.in_([u.id for u in users]))
            .order_by(Role.slug)
        )
        for grant, role_slug in rows:
            grants[grant.user_id].append(_info(grant, role_slug, at))
    data = [schemas.Member(email=u.email, name=u.name, active=u.active, grants=grants[u.id]) for u in users]
    return schemas.Page(data=data, next_cursor=next_cursor, has_more=has_more)


# An app with more holders than this is a big share of the users: walking users in page order and
# asking each whether they hold a grant (the grants' key) finds a page at once, where listing every
# holder first costs them all (30 ms for 10k).  A smaller app's holders are listed, then sorted.
DENSE = 5000


def _held(session: Session, holders):
    counted = holders.with_only_columns(Grant.role_id).limit(DENSE)  # (the role's index alone answers)
    many = session.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
    if many >= DENSE:
        return exists(holders.where(Grant.user_id == User.id))
    return User.id.in_(holders)


def put_grant(
    session: Session, actor: Actor, context: Context, slug: str, email: str, role: str, body: schemas.GrantPut | None = None
) -> schemas.Grant:
    """Grant the role, or set the grant's expiry to the one given (none: no expiry); idempotent."""
    app = queries.get_app(session, slug)
    role_row = queries.get_role(session, app, role)
    user = queries.get_user(session, email)
    at = queries.now()
    expires_at = body.expires_at if body else None
    if expires_at is not None:
        future(expires_at, "expires_at", at)
    grant = session.get(Grant, (user.id, role_row.id))
    target = paths.grant(slug, user.email, role)
    if grant is None:
        grant = Grant(user_id=user.id, role_id=role_row.id, granted_by=actor.name, granted_at=at, expires_at=expires_at)
        session.add(grant)
        session.flush()
        view = _grant_view(grant, slug, user.email, role, at)
        audit.record(session, actor, context, "grant.add", target, after=view)
        return view
    before = _grant_view(grant, slug, user.email, role, at)
    if grant.expires_at != expires_at:
        grant.expires_at = expires_at
        session.flush()
    view = _grant_view(grant, slug, user.email, role, at)
    if view != before:
        audit.record(session, actor, context, "grant.update", target, before, view)
    return view


def delete_grant(session: Session, actor: Actor, context: Context, slug: str, email: str, role: str) -> None:
    """Remove the role from the user; removing one they lack is no error (and no event)."""
    app = queries.get_app(session, slug)
    role_row = queries.get_role(session, app, role)
    user = queries.get_user(session, email)
    grant = session.get(Grant, (user.id, role_row.id))
    if grant is not None:
        before = _grant_view(grant, slug, user.email, role, queries.now())
        session.delete(grant)
        audit.record(session, actor, context, "grant.remove", paths.grant(slug, user.email, role), before=before)
