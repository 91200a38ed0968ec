"""What the request models cannot check alone: explicit nulls, and instants that must lie ahead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from pepyhat.errors import InvalidField


def changes(body: BaseModel, nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields a PATCH body sets; null only where ``nullable`` allows it (it clears the value)."""
    changed = body.model_dump(exclude_unset=True)
    for field, value in changed.items():
        if value is None and field not in nullable:
            raise InvalidField(field, "may not be null")
    return changed


def future(value: datetime, field: str, now: datetime) -> datetime:
    if value.tzinfo is None:
        raise InvalidField(field, "needs a UTC offset, e.g. 2027-01-01T00:00:00Z")
    if value <= now:
        raise InvalidField(field, "is in the past")
    return value
