"""``last_used_at`` without a database write per request.

A request notes the key's use in memory; at most once a minute per key that
note becomes a pending update, and a background flush writes the pending
updates in one statement batch.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, bindparam, or_, update

from pepyhat.store.tables import Key, UTCDateTime

RESOLUTION = timedelta(minutes=1)


class UsageTracker:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._noted: dict[str, datetime] = {}
        self._pending: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def note(self, key_id: str, now: datetime | None = None) -> None:
        now = now or datetime.now(timezone.utc)
        last = self._noted.get(key_id)
        if last is not None and now - last < RESOLUTION:
            return
        with self._lock:
            self._noted[key_id] = now
            self._pending[key_id] = now

    def pending(self) -> int:
        return len(self._pending)

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return 0
        with self._engine.begin() as conn:
            conn.execute(_FLUSH, [{"key_id": k, "used_at": v} for k, v in pending.items()])
        return len(pending)


_FLUSH = (
    update(Key.__table__)
    .where(Key.id == bindparam("key_id"))
    .where(or_(Key.last_used_at.is_(None), Key.last_used_at < bindparam("used_at", type_=UTCDateTime())))
    .values(last_used_at=bindparam("used_at", type_=UTCDateTime()))
)
