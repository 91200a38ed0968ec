"""Who holds what: the data plane's answer, explain, and a user's access everywhere.

Core statements built once at import: these run on every data-plane request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, or_, select

from pepyhat import schemas
from pepyhat.store.tables import App, Grant, Key, Permission, Role, RolePermission, User, UTCDateTime

_AT = bindparam("at", type_=UTCDateTime())

KEY_BY_HASH = select(
    Key.id, Key.kind, Key.scopes, Key.rate_limit_per_minute, Key.expires_at, Key.revoked_at
).where(Key.hash == bindparam("hash"))
APP_BY_SLUG = select(App.id).where(App.slug == bindparam("slug"))
USER_BY_EMAIL = select(User.id, User.active).where(User.email == bindparam("email"))
LIVE_GRANTS = (
    select(Role.slug, Permission.slug)
    .select_from(Grant)
    .join(Role, Role.id == Grant.role_id)
    .outerjoin(RolePermission, RolePermission.role_id == Role.id)
    .outerjoin(Permission, Permission.id == RolePermission.permission_id)
    .where(
        Grant.user_id == bindparam("user_id"),
        Role.app_id == bindparam("app_id"),
        or_(Grant.expires_at.is_(None), Grant.expires_at > _AT),
    )
)
ALL_GRANTS = (
    select(App.slug, App.name, Role.id, Role.slug, Grant.granted_by, Grant.granted_at, Grant.expires_at)
    .select_from(Grant)
    .join(Role, Role.id == Grant.role_id)
    .join(App, App.id == Role.app_id)
    .where(Grant.user_id == bindparam("user_id"))
    .order_by(App.slug, Role.slug)
)
ROLE_PERMISSIONS = (
    select(RolePermission.role_id, Permission.slug)
    .join(Permission, Permission.id == RolePermission.permission_id)
    .where(RolePermission.role_id.in_(bindparam("role_ids", expanding=True)))
)


@dataclass(frozen=True)
class Access:
    found: bool
    active: bool
    roles: list[str]
    permissions: list[str]

    def body(self, email: str, app: str) -> dict:
        return {
            "email": email,
            "app": app,
            "found": self.found,
            "active": self.active,
            "roles": self.roles,
            "permissions": self.permissions,
        }


NOT_FOUND = Access(False, False, [], [])


def access(conn: Connection, app_id: int, email: str, at: datetime) -> Access:
    """The data plane's answer for a lower-cased email. Fails closed for deactivated users."""
    user = conn.execute(USER_BY_EMAIL, {"email": email}).first()
    if user is None:
        return NOT_FOUND
    if not user.active:
        return Access(True, False, [], [])
    roles: set[str] = set()
    perms: set[str] = set()
    for role, perm in conn.execute(LIVE_GRANTS, {"user_id": user.id, "app_id": app_id, "at": at}):
        roles.add(role)
        if perm is not None:
            perms.add(perm)
    return Access(True, True, sorted(roles), sorted(perms))


def _grants(conn: Connection, user_id: int, at: datetime):
    """Every grant of the user, with each role's permissions, grouped by app."""
    rows = conn.execute(ALL_GRANTS, {"user_id": user_id}).all()
    role_perms: dict[int, list[str]] = defaultdict(list)
    if rows:
        for role_id, perm in conn.execute(ROLE_PERMISSIONS, {"role_ids": list({r[2] for r in rows})}):
            role_perms[role_id].append(perm)
    by_app: dict[str, tuple[str, list]] = {}
    for app_slug, app_name, role_id, role_slug, granted_by, granted_at, expires_at in rows:
        info = schemas.GrantInfo(
            role=role_slug,
            granted_by=granted_by,
            granted_at=granted_at,
            expires_at=expires_at,
            expired=expires_at is not None and expires_at <= at,
        )
        by_app.setdefault(app_slug, (app_name, []))[1].append((info, sorted(role_perms[role_id])))
    return by_app


def user_access(conn: Connection, user: User, at: datetime, visible=lambda app: True) -> schemas.UserAccess:
    apps = []
    for app_slug, (app_name, grants) in _grants(conn, user.id, at).items():
        if not visible(app_slug):
            continue
        live = [(g, perms) for g, perms in grants if not g.expired] if user.active else []
        apps.append(
            schemas.AppAccess(
                app=app_slug,
                app_name=app_name,
                roles=sorted({g.role for g, _ in live}),
                permissions=sorted({p for _, perms in live for p in perms}),
                grants=[g for g, _ in grants],
            )
        )
    return schemas.UserAccess(email=user.email, name=user.name, active=user.active, created_at=user.created_at, apps=apps)


def explain(conn: Connection, app_slug: str, app_id: int, email: str, at: datetime) -> schemas.ExplainResponse:
    answer = access(conn, app_id, email, at)
    user = conn.execute(USER_BY_EMAIL, {"email": email}).first()
    grants: list[schemas.GrantInfo] = []
    why: dict[str, list[schemas.GrantInfo]] = {}
    if user is not None:
        app_grants = _grants(conn, user.id, at).get(app_slug, ("", []))[1]
        grants = [g for g, _ in app_grants]
        if user.active:
            for grant, perms in app_grants:
                if grant.expired:
                    continue
                for perm in perms:
                    why.setdefault(perm, []).append(grant)
    return schemas.ExplainResponse(**answer.body(email, app_slug), grants=grants, why=dict(sorted(why.items())))
