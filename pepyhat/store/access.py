"""The statements that read who holds what: the data plane's one statement, and explain's.

Core statements built once at import: ``ANSWER`` runs on every data-plane
request (``pepyhat.store.reads``).  ``pepyhat.authz`` turns their rows into
answers.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Connection, Row, and_, bindparam, or_, select

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
# The same (active, role, permission) rows for a known app (explain, the dashboard's try-a-request).
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


def access_rows(conn: Connection, app_id: int, email: str, at: datetime) -> list[Row]:
    """The user's (active, role, permission) rows in app ``app_id``, as ``ANSWER`` has them."""
    return conn.execute(USER_ACCESS, {"email": email, "app_id": app_id, "at": at}).all()


def user_by_email(conn: Connection, email: str) -> Row | None:
    """(id, active) of the user, if there is one."""
    return conn.execute(USER_BY_EMAIL, {"email": email}).first()


def grants_of(conn: Connection, user_id: int) -> tuple[list[Row], dict[int, list[str]]]:
    """Every grant of the user, expired ones too, by app and role; and each granted role's permissions."""
    rows = conn.execute(ALL_GRANTS, {"user_id": user_id}).all()
    role_perms: dict[int, list[str]] = defaultdict(list)
    if rows:
        for role_id, perm in conn.execute(ROLE_PERMISSIONS, {"role_ids": list({r[2] for r in rows})}):
            role_perms[role_id].append(perm)
    return rows, role_perms
