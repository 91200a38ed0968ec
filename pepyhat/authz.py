"""Who holds what: the data plane's answer, explain, and a user's access everywhere.

Core statements built once at import: these run on every data-plane request.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, or_, select

from pepyhat import schemas
from pepyhat.store.tables import App, Grant, Key, Permission, Role, RolePermission, User, UTCDateTime

_AT = bindparam("at", type_=UTCDateTime())
_keys, _apps, _users = Key.__table__, App.__table__, User.__table__
_grants, _roles = Grant.__table__, Role.__table__
_role_perms, _perms = RolePermission.__table__, Permission.__table__

# The data plane asks one question per request (on PostgreSQL a round trip costs more
# than the joins): the key by its hash, with the asked app's id and the user's every
# live (role, permission) pair in that app.  A chain of LEFT JOINs, so the key comes back
# as long as it exists (app_id NULL: no such app; active NULL: no such user), a user
# without live grants in the app still gives one row (role NULL), and grants in other
# apps come back with role NULL too.  (A nested "LEFT JOIN (grants JOIN roles)" reads
# the same but SQLite materialises every grant of the app first: 400 us instead of 60.)
KEY_COLUMNS = 7  # id, kind, scopes, rate_limit_per_minute, expires_at, revoked_at, app_id


def _user_grants(left, app_id):
    """``left`` (holding ``users``) joined to the user's live grants of roles in app ``app_id``."""
    return (
        left.outerjoin(
            _grants,
            and_(
                _grants.c.user_id == _users.c.id,
                or_(_grants.c.expires_at.is_(None), _grants.c.expires_at > _AT),
            ),
        )
        .outerjoin(_roles, and_(_roles.c.id == _grants.c.role_id, _roles.c.app_id == app_id))
        .outerjoin(_role_perms, _role_perms.c.role_id == _roles.c.id)
        .outerjoin(_perms, _perms.c.id == _role_perms.c.permission_id)
    )


ANSWER = (
    select(
        _keys.c.id,
        _keys.c.kind,
        _keys.c.scopes,
        _keys.c.rate_limit_per_minute,
        _keys.c.expires_at,
        _keys.c.revoked_at,
        _apps.c.id.label("app_id"),
        _users.c.active,
        _roles.c.slug.label("role"),
        _perms.c.slug.label("permission"),
    )
    .select_from(
        _user_grants(
            _keys.outerjoin(_apps, _apps.c.slug == bindparam("slug")).outerjoin(
                _users, _users.c.email == bindparam("email")
            ),
            _apps.c.id,
        )
    )
    .where(_keys.c.hash == bindparam("hash"))
)
USER_BY_EMAIL = select(User.id, User.active).where(User.email == bindparam("email"))
# The same answer for a known app (explain, the dashboard's try-a-request).
USER_ACCESS = (
    select(_users.c.active, _roles.c.slug.label("role"), _perms.c.slug.label("permission"))
    .select_from(_user_grants(_users, bindparam("app_id")))
    .where(_users.c.email == bindparam("email"))
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


def answer(rows) -> Access:
    """The answer from (active, role, permission) rows. Fails closed for deactivated users."""
    if not rows or rows[0][0] is None:
        return NOT_FOUND
    if not rows[0][0]:
        return Access(True, False, [], [])
    # Rows unpack as tuples: attribute access by name costs more than the query here.
    roles: set[str] = set()
    perms: set[str] = set()
    for _, role, perm in rows:
        if role is not None:
            roles.add(role)
            if perm is not None:
                perms.add(perm)
    return Access(True, True, sorted(roles), sorted(perms))


def access(conn: Connection, app_id: int, email: str, at: datetime) -> Access:
    """The data plane's answer for a lower-cased email."""
    return answer(conn.execute(USER_ACCESS, {"email": email, "app_id": app_id, "at": at}).all())


def _grants_by_app(conn: Connection, user_id: int, at: datetime):
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
    for app_slug, (app_name, grants) in _grants_by_app(conn, user.id, at).items():
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
        app_grants = _grants_by_app(conn, user.id, at).get(app_slug, ("", []))[1]
        grants = [g for g, _ in app_grants]
        if user.active:
            for grant, perms in app_grants:
                if grant.expired:
                    continue
                for perm in perms:
                    why.setdefault(perm, []).append(grant)
    return schemas.ExplainResponse(**answer.body(email, app_slug), grants=grants, why=dict(sorted(why.items())))
