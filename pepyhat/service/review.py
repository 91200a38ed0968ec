"""The access review of an app: users x roles x permissions, with who granted what, when, until when.

Read once here for the API (``GET /api/v1/apps/{slug}/access-review``) and the
command line (``pepyhat export access --db``); written out by ``pepyhat.review``.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from pepyhat import paths, schemas
from pepyhat.authz import grant_info
from pepyhat.service.actor import Actor
from pepyhat.store import queries
from pepyhat.store.tables import Grant, Permission, Role, RolePermission, User


def access_review(session: Session, actor: Actor, slug: str) -> schemas.AccessReview:
    """Every grant in the app, one row per permission its role gives; members the actor may read only."""
    app = queries.get_app(session, slug)
    at = queries.now()
    permissions: dict[int, list[str]] = defaultdict(list)
    for role_id, perm in session.execute(
        select(RolePermission.role_id, Permission.slug)
        .join(Permission, Permission.id == RolePermission.permission_id)
        .where(Permission.app_id == app.id)
        .order_by(Permission.slug)
    ):
        permissions[role_id].append(perm)
    grants = session.execute(
        select(User.email, User.name, User.active, Role.id, Role.slug, Grant.granted_by, Grant.granted_at, Grant.expires_at)
        .join(Grant, Grant.user_id == User.id)
        .join(Role, Role.id == Grant.role_id)
        .where(Role.app_id == app.id)
        .order_by(User.email, Role.slug)
    )
    visible = actor.visible(paths.member(slug, paths.ANY), lambda email: paths.member(slug, email))
    rows = []
    for email, name, active, role_id, role, granted_by, granted_at, expires_at in grants:
        if visible is not None and not visible(email):
            continue
        info = grant_info(role, granted_by, granted_at, expires_at, at)
        for perm in permissions.get(role_id) or [None]:
            rows.append(schemas.AccessReviewRow(email=email, name=name, active=active, permission=perm, **info.model_dump()))
    return schemas.AccessReview(app=app.slug, app_name=app.name, generated_at=at, rows=rows)
