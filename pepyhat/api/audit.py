"""The audit log, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from pepyhat import schemas, scopes
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.pagination import Cursor, Limit, paginate
from pepyhat.api.runtime import SessionDep
from pepyhat.store.tables import AuditEvent

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def event_view(event: AuditEvent) -> schemas.AuditEvent:
    return schemas.AuditEvent.model_validate(event)


@router.get("", response_model=schemas.Page[schemas.AuditEvent])
def list_audit(
    session: Session = SessionDep,
    principal: Principal = Authorized,
    actor: str | None = Query(None, max_length=200, description="Key id or name of the actor"),
    action: str | None = Query(None, max_length=64, description="Exact action, or a prefix ending in '*' (key.*)"),
    target: schemas.ScopePath | None = Query(None, description="Scope-style glob over target paths (apps/crm/**)"),
    since: schemas.Instant | None = Query(None, description="Events at or after this instant (with its offset)"),
    until: schemas.Instant | None = Query(None, description="Events before this instant (with its offset)"),
    limit: int = Limit,
    cursor: str | None = Cursor,
):
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
        visible = lambda e: scopes.matches(target, e.target)  # noqa: E731
    rows, next_cursor, has_more = paginate(session, stmt, [AuditEvent.id], limit, cursor, descending=True, visible=visible)
    return schemas.Page(data=[event_view(e) for e in rows], next_cursor=next_cursor, has_more=has_more)
