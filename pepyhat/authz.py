"""Who holds what, from the rows the store read: the data plane's answer, explain, a user's access.

No SQL here: the statements are in ``pepyhat.store.access``.  ``answer`` runs
on every data-plane request, so it unpacks rows as tuples.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

from pepyhat import schemas


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


def grant_info(role: str, granted_by: str, granted_at: datetime, expires_at: datetime | None, at: datetime) -> schemas.GrantInfo:
    """A grant as the API shows it; an expired one is marked, for it counts as absent."""
    return schemas.GrantInfo(
        role=role,
        granted_by=granted_by,
        granted_at=granted_at,
        expires_at=expires_at,
        expired=expires_at is not None and expires_at <= at,
    )


Granted = tuple[schemas.GrantInfo, list[str]]  # a grant and its role's permissions


def grants_by_app(rows: Sequence, role_perms: dict[int, list[str]], at: datetime) -> dict[str, tuple[str, list[Granted]]]:
    """app slug -> (app name, its grants with their permissions), from ``store.access.grants_of``."""
    by_app: dict[str, tuple[str, list[Granted]]] = {}
    for app_slug, app_name, role_id, role_slug, granted_by, granted_at, expires_at in rows:
        info = grant_info(role_slug, granted_by, granted_at, expires_at, at)
        by_app.setdefault(app_slug, (app_name, []))[1].append((info, sorted(role_perms[role_id])))
    return by_app


def user_access(
    user, by_app: dict[str, tuple[str, list[Granted]]], visible: Callable[[str], bool] = lambda app: True
) -> schemas.UserAccess:
    """The user's roles and permissions in every app ``visible`` lets through."""
    apps = []
    for app_slug, (app_name, grants) in by_app.items():
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


def explain(app_slug: str, email: str, access: Access, active: bool, grants: list[Granted]) -> schemas.ExplainResponse:
    """The data plane's answer plus, per permission, the live grants of roles that hold it."""
    why: dict[str, list[schemas.GrantInfo]] = {}
    if active:
        for grant, perms in grants:
            if grant.expired:
                continue
            for perm in perms:
                why.setdefault(perm, []).append(grant)
    return schemas.ExplainResponse(
        **access.body(email, app_slug), grants=[g for g, _ in grants], why=dict(sorted(why.items()))
    )
