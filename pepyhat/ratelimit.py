"""Per-key rate limits: fixed one-minute windows.

In-process by default; with Redis every node counts against one shared budget
(INCR on a key per window, expiring with it).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

WINDOW = 60


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


def _window(now: float) -> tuple[int, int]:
    window = int(now // WINDOW)
    reset = max(1, int((window + 1) * WINDOW - now + 0.999))
    return window, reset


def _decide(count: int, limit: int, reset: int) -> Decision:
    return Decision(count <= limit, limit, max(0, limit - count), reset)


class Limiter(Protocol):
    def hit(self, key_id: str, limit: int) -> Decision: ...

    def close(self) -> None: ...


class MemoryLimiter:
    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key_id: str, limit: int) -> Decision:
        window, reset = _window(self._clock())
        with self._lock:
            seen_window, count = self._counts.get(key_id, (window, 0))
            count = count + 1 if seen_window == window else 1
            self._counts[key_id] = (window, count)
            if len(self._counts) > 100_000:  # forget stale windows rather than grow forever
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        return _decide(count, limit, reset)

    def close(self) -> None:
        pass


class RedisLimiter:
    def __init__(self, url: str, prefix: str = "pepyhat:rl:", clock=time.time) -> None:
        import redis  # only nodes that share limits need it loaded

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._prefix = prefix
        self._clock = clock

    def ping(self) -> None:
        self._redis.ping()

    def hit(self, key_id: str, limit: int) -> Decision:
        window, reset = _window(self._clock())
        name = f"{self._prefix}{key_id}:{window}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, WINDOW + 1)
        count, _ = pipe.execute()
        return _decide(int(count), limit, reset)

    def close(self) -> None:
        self._redis.close()


def make_limiter(redis_url: str | None) -> Limiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
