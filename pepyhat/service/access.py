"""Who holds what, read for the admin API: explain, and a user's access in every app.

The statements are the store's (``store/access.py``), the answers authz's.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from pepyhat import authz, paths, schemas
from pepyhat.service.actor import Actor
from pepyhat.store import queries
from pepyhat.store.access import access_rows, grants_of, user_by_email


def explain(session: Session, app: str, email: str) -> schemas.ExplainResponse:
    """The data plane's answer for the user in the app, plus the grants behind every permission."""
    row = queries.get_app(session, app)
    email = email.lower()
    at = queries.now()
    conn = session.connection()
    answer = authz.answer(access_rows(conn, row.id, email, at))
    user = user_by_email(conn, email)
    if user is None:
        return authz.explain(row.slug, email, answer, False, [])
    grants = authz.grants_by_app(*grants_of(conn, user.id), at).get(row.slug, ("", []))[1]
    return authz.explain(row.slug, email, answer, bool(user.active), grants)


def user_access(session: Session, actor: Actor, email: str) -> schemas.UserAccess:
    """The user's roles and permissions in every app whose membership the actor may read."""
    user = queries.get_user(session, email)
    by_app = authz.grants_by_app(*grants_of(session.connection(), user.id), queries.now())
    return authz.user_access(user, by_app, visible=lambda app: actor.can(paths.member(app, user.email), "read"))
