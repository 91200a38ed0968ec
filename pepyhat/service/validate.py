"""What the request models cannot check alone: an instant that must lie ahead of now."""

from __future__ import annotations

from datetime import datetime

from pepyhat.errors import InvalidField


def future(value: datetime, field: str, now: datetime) -> datetime:
    """``value`` (an aware instant: ``schemas.Instant`` saw to that) if it is after ``now``."""
    if value <= now:
        raise InvalidField(field, "is in the past")
    return value
