"""The audit trail: every admin write and every key lookup, in the write's own transaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from pepyhat.store.tables import AuditEvent

if TYPE_CHECKING:
    from pepyhat.service.actor import Actor, Context


def snapshot(model: BaseModel | None) -> dict[str, Any] | None:
    """A JSON-ready copy of a response model (which never holds a plaintext key)."""
    if model is None:
        return None
    data = model.model_dump(mode="json")
    data.pop("key", None)  # belt and braces: KeyCreated's plaintext never goes in the trail
    return data


def record(
    session: Session,
    actor: Actor,
    context: Context,
    action: str,
    target: str,
    before: BaseModel | dict | None = None,
    after: BaseModel | dict | None = None,
) -> None:
    """Add the event to ``session``: it commits, or rolls back, with the write it records."""
    session.add(
        AuditEvent(
            at=datetime.now(timezone.utc),
            actor_id=actor.id,
            actor_name=actor.name,
            action=action,
            target=target,
            before=before if isinstance(before, dict) or before is None else snapshot(before),
            after=after if isinstance(after, dict) or after is None else snapshot(after),
            request_id=context.request_id,
            client=context.client,
        )
    )


def prune(engine: Engine, retention_days: int, now: datetime | None = None) -> int:
    """Delete events older than the retention window; returns how many went."""
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=retention_days)
    with engine.begin() as conn:
        return conn.execute(delete(AuditEvent).where(AuditEvent.at < cutoff)).rowcount or 0
