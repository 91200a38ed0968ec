"""The audit trail: every admin write and every key lookup, in the write's own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from pepyhat.store.tables import AuditEvent


def snapshot(model: BaseModel | None) -> dict[str, Any] | None:
    """A JSON-ready copy of a response model (which never holds a plaintext key)."""
    if model is None:
        return None
    data = model.model_dump(mode="json")
    data.pop("key", None)  # belt and braces: KeyCreated's plaintext never goes in the trail
    return data


def record(
    session: Session,
    request: Request,
    principal,
    action: str,
    target: str,
    before: BaseModel | dict | None = None,
    after: BaseModel | dict | None = None,
) -> None:
    session.add(
        AuditEvent(
            at=datetime.now(timezone.utc),
            actor_id=principal.id,
            actor_name=principal.name,
            action=action,
            target=target,
            before=before if isinstance(before, dict) or before is None else snapshot(before),
            after=after if isinstance(after, dict) or after is None else snapshot(after),
            request_id=request.scope.get("state", {}).get("request_id"),
            client=request.client.host if request.client else None,
        )
    )


def prune(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """Delete events older than the retention window; returns how many went."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)
    with engine.begin() as conn:
        return conn.execute(delete(AuditEvent).where(AuditEvent.at < cutoff)).rowcount or 0
