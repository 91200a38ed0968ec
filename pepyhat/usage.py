"""``last_used_at``, ``last_used_from`` and ``refused_since_revoke`` without a database write per request.

A request notes the key's use (when, from where) in memory; at most once a
minute per key that note becomes a pending update, and a background flush
writes the pending updates in one statement batch.  A request refused because
its key is revoked or expired is counted, and noted as a use whatever the
minute says: a leaked key still being tried is what an operator wants to see,
and the flush writes that key's row anyway.  The count is written as an
increment, so nodes sharing a database add their counts up.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from sqlalchemy import Engine, bindparam, or_, update

from pepyhat.store.tables import Key, UTCDateTime

RESOLUTION = timedelta(minutes=1)
CLIENT_LENGTH = 100  # the column's: a longer address would fail every flush after it


class Use(NamedTuple):
    at: datetime
    client: str | None


class UsageTracker:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._noted: dict[str, datetime] = {}
        self._pending: dict[str, Use] = {}
        self._refused: dict[str, int] = {}
        self._lock = threading.Lock()

    def note(self, key_id: str, now: datetime | None = None, client: str | None = None) -> None:
        """A request used the key (from ``client``, the caller's address)."""
        now = now or datetime.now(timezone.utc)
        last = self._noted.get(key_id)
        if last is not None and now - last < RESOLUTION:
            return
        with self._lock:
            self._noted[key_id] = now
            self._pending[key_id] = Use(now, client and client[:CLIENT_LENGTH])

    def refused(self, key_id: str, now: datetime | None = None, client: str | None = None) -> None:
        """A request was refused because the key is revoked or expired."""
        now = now or datetime.now(timezone.utc)
        with self._lock:
            self._refused[key_id] = self._refused.get(key_id, 0) + 1
            self._noted[key_id] = now
            self._pending[key_id] = Use(now, client and client[:CLIENT_LENGTH])

    def pending(self) -> int:
        """How many keys the next flush writes."""
        with self._lock:
            return len(self._pending.keys() | self._refused.keys())

    def flush(self) -> int:
        """Write what is pending; the number of keys written.  On failure it stays pending."""
        with self._lock:
            uses, self._pending = self._pending, {}
            refused, self._refused = self._refused, {}
        if not uses and not refused:
            return 0
        try:
            with self._engine.begin() as conn:
                if uses:
                    conn.execute(_USED, [{"key_id": k, "used_at": u.at, "client": u.client} for k, u in uses.items()])
                if refused:
                    conn.execute(_REFUSED, [{"key_id": k, "n": n} for k, n in refused.items()])
        except Exception:
            self._restore(uses, refused)
            raise
        return len(uses.keys() | refused.keys())

    def _restore(self, uses: dict[str, Use], refused: dict[str, int]) -> None:
        # The next flush retries; uses and refusals noted meanwhile are kept too.
        with self._lock:
            for key_id, use in uses.items():
                newer = self._pending.get(key_id)
                if newer is None or newer.at < use.at:
                    self._pending[key_id] = use
            for key_id, n in refused.items():
                self._refused[key_id] = self._refused.get(key_id, 0) + n


_USED = (
    update(Key.__table__)
    .where(Key.id == bindparam("key_id"))
    .where(or_(Key.last_used_at.is_(None), Key.last_used_at < bindparam("used_at", type_=UTCDateTime())))
    .values(last_used_at=bindparam("used_at", type_=UTCDateTime()), last_used_from=bindparam("client"))
)
# An increment, never a value read and written back: two nodes' counts add up.
_REFUSED = (
    update(Key.__table__)
    .where(Key.id == bindparam("key_id"))
    .values(refused_since_revoke=Key.__table__.c.refused_since_revoke + bindparam("n"))
)
