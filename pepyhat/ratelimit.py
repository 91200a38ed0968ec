"""Per-key rate limits that hold at any instant: at most ``limit`` requests in any 60 seconds.

A sliding window over one-second buckets.  A request is allowed while fewer than
``limit`` requests were allowed in the buckets that overlap the last 60 seconds;
an allowed request counts in its bucket.  Any span of 60 seconds ends with its
last allowed request, which saw every earlier one of the span counted, so no
span ever holds more than ``limit``.  The price of buckets over timestamps is
that a request counts for 60 to 61 seconds (the whole of its bucket), never less.

GCRA, the other limiter that has no calendar boundary, cannot give that bound
with bursts: with a burst of ``limit`` it lets ``limit`` more through, one
per ``60/limit`` seconds, within the same minute (19 in 60 s at 10/minute).

In-process by default (``MemoryLimiter``).  With Redis every node counts in one
budget (``RedisLimiter``: one Lua script, atomic, on Redis's clock); while Redis
is unreachable each node counts in its own memory, says so once in its log, in
``/metrics`` and ``/readyz``, and returns to Redis when a background probe finds
it back.  A limiter outage never fails a request.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping, Protocol

from pepyhat import metrics

WINDOW = 60.0
BUCKETS = 60  # per window: a bucket is a second of a 60 s window
log = logging.getLogger("pepyhat.ratelimit")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int  # requests allowed right now
    reset: int  # seconds until the whole budget is back (every counted request has left the window)
    retry_after: int | None = None  # when refused: seconds until a request would be allowed

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def _seconds(span: float) -> int:
    """Whole seconds, rounded up: a client that waits that long is never early."""
    return max(1, math.ceil(round(span, 6)))


def decide(allowed: bool, limit: int, counted: Mapping[int, int], now: float, width: float) -> Decision:
    """The answer's figures from the buckets counted after the request (bucket index -> requests).

    Shared by both limiters, so their headers agree to the second.
    """
    used = sum(counted.values())

    def leaves(bucket: int) -> float:  # seconds until the bucket stops counting
        return (bucket + BUCKETS + 1) * width - now

    reset = _seconds(leaves(max(counted))) if counted else 1
    retry_after = None
    if not allowed:
        left = used
        for bucket in sorted(counted):
            left -= counted[bucket]
            if left < limit:
                retry_after = _seconds(leaves(bucket))
                break
    return Decision(allowed, limit, max(0, limit - used), reset, retry_after)


def slide(counts: dict[int, int], now: float, limit: int, width: float) -> Decision:
    """One request against one key's buckets, in place: what the Lua script does in Redis."""
    current = math.floor(now / width)
    for bucket in [b for b in counts if b < current - BUCKETS]:
        del counts[bucket]
    allowed = sum(counts.values()) < limit
    if allowed:
        counts[current] = counts.get(current, 0) + 1
    return decide(allowed, limit, counts, now, width)


class Limiter(Protocol):
    @property
    def status(self) -> str:
        """Where requests are counted: "memory", "redis" or "memory (fallback: why)"."""

    @property
    def local(self) -> bool:
        """True when ``hit`` touches no network (it may then run on the event loop)."""

    def hit(self, key_id: str, limit: int) -> Decision: ...

    def close(self) -> None: ...


class MemoryLimiter:
    """This process's own budgets."""

    status = "memory"
    local = True
    MAX_KEYS = 100_000

    def __init__(self, clock: Callable[[], float] = time.time, window: float = WINDOW) -> None:
        self._clock = clock
        self._width = window / BUCKETS
        self._counts: dict[str, dict[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key_id: str, limit: int) -> Decision:
        now = self._clock()
        with self._lock:
            decision = slide(self._counts.setdefault(key_id, {}), now, limit, self._width)
            if len(self._counts) > self.MAX_KEYS:  # forget keys idle for a window rather than grow forever
                oldest = math.floor(now / self._width) - BUCKETS
                self._counts = {k: v for k, v in self._counts.items() if v and max(v) >= oldest}
        return decision

    def close(self) -> None:
        pass


# KEYS[1]: the key's hash (bucket index -> requests).  ARGV: limit, bucket width in
# seconds, buckets per window, and "now" (empty: Redis's own clock, one for every node).
# Returns allowed (0/1), the "now" used, and the counted buckets, flat: the caller
# derives the headers with decide(), as the in-process limiter does.
_SLIDE = """
local limit = tonumber(ARGV[1])
local width = tonumber(ARGV[2])
local buckets = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local current = math.floor(now / width)
local flat = redis.call('HGETALL', KEYS[1])
local counted, used, newest = {}, 0, nil
for i = 1, #flat, 2 do
  local bucket, count = tonumber(flat[i]), tonumber(flat[i + 1])
  if bucket < current - buckets then
    redis.call('HDEL', KEYS[1], flat[i])
  else
    used = used + count
    counted[#counted + 1] = flat[i]
    counted[#counted + 1] = flat[i + 1]
    if not newest or bucket > newest then newest = bucket end
  end
end
local allowed = 0
if used < limit then
  allowed = 1
  local field = string.format('%d', current)
  local count = redis.call('HINCRBY', KEYS[1], field, 1)
  if count == 1 then
    counted[#counted + 1] = field
    counted[#counted + 1] = '1'
  else
    for i = 1, #counted, 2 do
      if counted[i] == field then counted[i + 1] = tostring(count) end
    end
  end
  newest = current
end
if newest then
  redis.call('PEXPIRE', KEYS[1], math.ceil(((newest + buckets + 1) * width - now) * 1000))
end
return {allowed, string.format('%.6f', now), counted}
"""


class RedisLimiter:
    """One budget for every node, in Redis; this node's own memory while Redis is away.

    ``clock`` None uses Redis's clock (nodes' clocks may differ; Redis's is one);
    tests pass one.  Calls wait at most ``timeout`` seconds for Redis, and only
    until the first failure: from then on requests are counted in memory without
    touching the network, while a background thread probes Redis every
    ``retry_every`` seconds.
    """

    def __init__(
        self,
        url: str,
        prefix: str = "pepyhat:rl:",
        clock: Callable[[], float] | None = None,
        *,
        window: float = WINDOW,
        timeout: float = 0.5,
        retry_every: float = 1.0,
    ) -> None:
        import redis  # only nodes that share limits need it loaded
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # One immediate retry (a pooled connection may predate a Redis restart), no backoff:
        # redis-py's default backoff would hold a request for seconds while Redis is down.
        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1)
        )
        self._errors = redis.RedisError
        self._script = self._redis.register_script(_SLIDE)  # EVALSHA, loading the script on NOSCRIPT
        self._prefix = prefix
        self._clock = clock
        self._width = window / BUCKETS
        self._fallback = MemoryLimiter(clock=clock or time.time, window=window)
        self._retry_every = retry_every
        self._lock = threading.Lock()
        self._down: str | None = None  # why requests are counted in memory, while they are
        self._closed = threading.Event()
        self._probe: threading.Thread | None = None
        metrics.limiter_backend("redis")

    @property
    def status(self) -> str:
        down = self._down
        return "redis" if down is None else f"memory (fallback: {down})"

    @property
    def local(self) -> bool:
        return self._down is not None

    def ping(self) -> None:
        self._redis.ping()

    def hit(self, key_id: str, limit: int) -> Decision:
        if self._down is None:
            try:
                return self._shared(key_id, limit)
            except self._errors as exc:
                self._fall_back(exc)
        return self._fallback.hit(key_id, limit)

    def _shared(self, key_id: str, limit: int) -> Decision:
        now = "" if self._clock is None else repr(self._clock())
        allowed, now_used, flat = self._script(
            keys=[f"{self._prefix}{key_id}"], args=[limit, repr(self._width), BUCKETS, now]
        )
        counted = {int(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}
        return decide(bool(allowed), limit, counted, float(now_used), self._width)

    def _fall_back(self, exc: Exception) -> None:
        with self._lock:
            if self._down is not None or self._closed.is_set():
                return
            self._down = f"{type(exc).__name__}: {exc}"[:200]
            metrics.LIMITER_FALLBACKS.inc()
            metrics.limiter_backend("memory")
            log.warning(
                "rate limiter: Redis unreachable (%s); counting in this node's memory until it is back", self._down
            )
            self._probe = threading.Thread(target=self._wait_for_redis, name="pepyhat-redis-probe", daemon=True)
            self._probe.start()

    def _wait_for_redis(self) -> None:
        while not self._closed.wait(self._retry_every):
            try:
                self._redis.connection_pool.disconnect()  # connections from before the outage are dead
                self._redis.ping()
            except self._errors:
                continue
            with self._lock:
                if self._closed.is_set():
                    return
                self._down = None
                metrics.limiter_backend("redis")
                log.info("rate limiter: Redis is back; limits are shared across nodes again")
            return

    def close(self) -> None:
        self._closed.set()
        probe = self._probe
        if probe is not None:
            probe.join(timeout=5)
        self._redis.close()


def make_limiter(redis_url: str | None) -> Limiter:
    if redis_url:
        return RedisLimiter(redis_url)
    metrics.limiter_backend("memory")
    return MemoryLimiter()
