"""Explain: the data plane's answer for a user in an app, plus the grants behind every permission."""

from __future__ import annotations

from sqlalchemy.orm import Session

from pepyhat import authz, schemas
from pepyhat.store import access, queries


def explain(session: Session, app: str, email: str) -> schemas.ExplainResponse:
    row = queries.get_app(session, app)
    email = email.lower()
    at = queries.now()
    conn = session.connection()
    answer = authz.answer(access.access_rows(conn, row.id, email, at))
    user = access.user_by_email(conn, email)
    if user is None:
        return authz.explain(row.slug, email, answer, False, [])
    rows, role_perms = access.grants_of(conn, user.id)
    grants = authz.grants_by_app(rows, role_perms, at).get(row.slug, ("", []))[1]
    return authz.explain(row.slug, email, answer, bool(user.active), grants)
