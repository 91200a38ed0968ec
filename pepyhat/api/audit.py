"""The audit log, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized
from pepyhat.api.pagination import Cursor, Limit
from pepyhat.api.runtime import SessionDep
from pepyhat.service import audit_log
from pepyhat.service.actor import Actor

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", response_model=schemas.Page[schemas.AuditEvent])
def list_audit(
    session: Session = SessionDep,
    caller: Actor = Authorized,
    actor: str | None = Query(None, max_length=200, description="Key id or name of the actor"),
    action: str | None = Query(None, max_length=64, description="Exact action, or a prefix ending in '*' (key.*)"),
    target: schemas.ScopePath | None = Query(None, description="Scope-style glob over target paths (apps/crm/**)"),
    since: schemas.Instant | None = Query(None, description="Events at or after this instant (with its offset)"),
    until: schemas.Instant | None = Query(None, description="Events before this instant (with its offset)"),
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    return audit_log.list_audit(
        session, actor=actor, action=action, target=target, since=since, until=until, limit=limit, cursor=cursor
    )
