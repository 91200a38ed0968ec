"""The audit log, read: newest first, filtered by actor, action, target glob and time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pepyhat import schemas, scopes
from pepyhat.errors import InvalidField
from pepyhat.store.pages import paginate
from pepyhat.store.tables import AuditEvent


def list_audit(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> schemas.Page[schemas.AuditEvent]:
    """``actor``: a key id or name; ``action``: exact, or a prefix ending in ``*``; ``target``: a scope-style glob."""
    stmt = select(AuditEvent)
    if actor:
        stmt = stmt.where(or_(AuditEvent.actor_id == actor, AuditEvent.actor_name == actor))
    if action:
        if action.endswith("*"):
            stmt = stmt.where(AuditEvent.action.startswith(action[:-1], autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    visible = None
    if target:
        try:
            scopes.validate(target)
        except scopes.InvalidPattern as exc:
            raise InvalidField("target", f"is not a path pattern: {exc}") from None
        visible = lambda e: scopes.matches(target, e.target)  # noqa: E731
    rows, next_cursor, has_more = paginate(session, stmt, [AuditEvent.id], limit, cursor, descending=True, visible=visible)
    return schemas.Page(data=[schemas.AuditEvent.model_validate(e) for e in rows], next_cursor=next_cursor, has_more=has_more)
