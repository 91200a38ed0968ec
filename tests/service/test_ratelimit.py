"""Per-key rate limits: the in-process limiter, the Redis limiter, and one budget across nodes.

The property both limiters must hold: in any span of 60 seconds no more than
``limit`` requests are allowed, wherever the span starts (no calendar minute).
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.ratelimit import Decision, MemoryLimiter, RedisLimiter, decide, make_limiter
from tests.servers import ServerThread
from tests.service.test_dataplane import WINDOW_START, FakeClock, assert_error, authz, freeze_limiter, seeded_app


def limited_headers(response: httpx.Response) -> tuple[str, str]:
    return response.headers["x-ratelimit-limit"], response.headers["x-ratelimit-remaining"]


def busiest_span(allowed_at: list[float], span: float) -> int:
    """The most allowed requests in any half-open span [t, t + span) (it suffices to start at one)."""
    times = sorted(allowed_at)
    return max((sum(1 for u in times[i:] if u < t + span) for i, t in enumerate(times)), default=0)


def run(limiter, clock: FakeClock, arrivals, limit: int, key: str = "key_a") -> tuple[list[float], list[float]]:
    """Offer requests at the given instants; return those allowed and those refused."""
    allowed, refused = [], []
    for at in arrivals:
        clock.now = at
        (allowed if limiter.hit(key, limit).allowed else refused).append(at)
    return allowed, refused


# -- in-process, through HTTP ------------------------------------------------------


def test_in_process_limit_through_http(service, make, monkeypatch):
    clock = freeze_limiter(service, monkeypatch)  # at a whole second: each request counts 61 s
    app = seeded_app(make)
    email = make.user()
    key = make.key(app, rate_limit_per_minute=3)["key"]

    for remaining in ("2", "1", "0"):
        response = authz(service, email, app, key)
        assert response.status_code == 200, response.text
        assert limited_headers(response) == ("3", remaining)
        assert response.headers["x-ratelimit-reset"] == "61"
        assert "retry-after" not in response.headers

    clock.advance(5)
    refused = authz(service, email, app, key)
    assert_error(refused, 429, "rate_limited")
    assert limited_headers(refused) == ("3", "0")
    assert refused.headers["x-ratelimit-reset"] == "56"
    assert refused.headers["retry-after"] == "56"

    clock.advance(55.5)  # still counted: refused, half a second to go
    assert authz(service, email, app, key).headers["retry-after"] == "1"
    clock.advance(0.5)  # the three have left the window
    again = authz(service, email, app, key)
    assert again.status_code == 200, again.text
    assert limited_headers(again) == ("3", "2")


def test_budgets_are_per_key(service, make, monkeypatch):
    freeze_limiter(service, monkeypatch)
    app = seeded_app(make)
    email = make.user()
    first = make.key(app, rate_limit_per_minute=1)["key"]
    second = make.key(app, rate_limit_per_minute=1)["key"]

    assert authz(service, email, app, first).status_code == 200
    assert_error(authz(service, email, app, first), 429, "rate_limited")
    response = authz(service, email, app, second)
    assert response.status_code == 200, response.text
    assert limited_headers(response) == ("1", "0")


def test_default_limiter_on_the_real_clock(service, make):
    """The service's own limiter (no injected clock) enforces the same budget, whenever the test runs."""
    app = seeded_app(make)
    email = make.user()
    key = make.key(app, rate_limit_per_minute=3)["key"]

    remaining = [authz(service, email, app, key) for _ in range(3)]
    refused = authz(service, email, app, key)

    assert [r.status_code for r in remaining] == [200, 200, 200]
    assert [limited_headers(r) for r in remaining] == [("3", "2"), ("3", "1"), ("3", "0")]
    assert_error(refused, 429, "rate_limited")
    reset, retry = int(refused.headers["x-ratelimit-reset"]), int(refused.headers["retry-after"])
    assert 1 <= retry <= reset <= 61


# -- the in-process limiter on an injected clock ---------------------------------------


def test_memory_limiter_counts_and_reports():
    limiter = MemoryLimiter(clock=FakeClock(WINDOW_START + 15))

    decisions = [limiter.hit("key_a", 2) for _ in range(4)]

    assert decisions == [
        Decision(True, 2, 1, 61),
        Decision(True, 2, 0, 61),
        Decision(False, 2, 0, 61, retry_after=61),
        Decision(False, 2, 0, 61, retry_after=61),
    ]


def test_a_burst_across_a_minute_boundary_passes_the_limit_once():
    """The reported defect: 15 requests in 1.6 s across hh:mm:00 all passed a limit of 10."""
    clock = FakeClock(0)
    limiter = MemoryLimiter(clock=clock)
    burst = [WINDOW_START - 0.8 + i * 0.1 for i in range(16)]

    assert len(run(limiter, clock, burst, 10)[0]) == 10


def test_the_budget_slides_instead_of_resetting():
    clock = FakeClock(WINDOW_START)
    limiter = MemoryLimiter(clock=clock)
    for at in (0, 20, 40):  # a request every 20 s spends a limit of 3
        clock.now = WINDOW_START + at
        assert limiter.hit("key_a", 3).allowed
    clock.now = WINDOW_START + 50
    refused = limiter.hit("key_a", 3)
    assert (refused.allowed, refused.retry_after, refused.reset) == (False, 11, 51)  # the first leaves at 61
    clock.now = WINDOW_START + 61
    assert limiter.hit("key_a", 3) == Decision(True, 3, 0, 61)  # one came back, and is spent again
    clock.now = WINDOW_START + 62
    assert limiter.hit("key_a", 3).retry_after == 19  # the one of t=20 leaves at 81


def test_retry_after_is_rounded_up():
    """A request at 15.5 s counts until 76 s (the end of its bucket plus 60): 60.5 s, announced as 61."""
    clock = FakeClock(WINDOW_START + 15.5)
    limiter = MemoryLimiter(clock=clock)
    assert limiter.hit("key_a", 1).allowed
    refused = limiter.hit("key_a", 1)
    assert refused.retry_after == 61
    clock.advance(60.5 - 0.001)
    assert not limiter.hit("key_a", 1).allowed
    clock.now = WINDOW_START + 15.5 + refused.retry_after  # a client that obeyed Retry-After
    assert limiter.hit("key_a", 1).allowed


def test_retry_after_ignores_float_noise():
    """On a 6 s window (0.1 s buckets) the arithmetic gives 6.0000002 s: that is 6, not 7."""
    limiter = MemoryLimiter(clock=FakeClock(WINDOW_START + 26.1), window=6)
    assert limiter.hit("key_a", 1).allowed
    refused = limiter.hit("key_a", 1)
    assert (refused.retry_after, refused.reset) == (6, 6)


def test_nothing_counted_resets_in_a_second():
    assert decide(False, 0, {}, WINDOW_START, 1.0) == Decision(False, 0, 0, 1)


def test_memory_limiter_keys_are_independent():
    limiter = MemoryLimiter(clock=FakeClock(WINDOW_START))
    assert limiter.hit("key_a", 1).allowed is True
    assert limiter.hit("key_a", 1).allowed is False
    assert limiter.hit("key_b", 1) == Decision(True, 1, 0, 61)


def test_memory_limiter_forgets_idle_keys(monkeypatch):
    monkeypatch.setattr(MemoryLimiter, "MAX_KEYS", 3)
    clock = FakeClock(WINDOW_START)
    limiter = MemoryLimiter(clock=clock)
    for key in ("a", "b", "c"):
        limiter.hit(key, 1)
    clock.advance(61)
    limiter.hit("d", 1)  # the fourth key: the idle three go
    assert set(limiter._counts) == {"d"}


def test_forgetting_keeps_every_key_that_still_counts(monkeypatch):
    """On a 120 s window (2 s buckets): a request stays counted to the last instant of its window,
    even when the table is pruned at that instant."""
    monkeypatch.setattr(MemoryLimiter, "MAX_KEYS", 1)
    clock = FakeClock(WINDOW_START)
    limiter = MemoryLimiter(clock=clock, window=120)
    assert limiter.hit("a", 1).allowed
    clock.advance(120.5)  # a's bucket is the oldest that still counts (it leaves at 122)
    assert limiter.hit("b", 1).allowed  # two keys: the table is pruned
    refused = limiter.hit("a", 1)
    assert (refused.allowed, refused.retry_after) == (False, 2)  # 1.5 s, rounded up
    clock.advance(1.5)
    assert limiter.hit("a", 1).allowed


arrivals = st.lists(st.floats(min_value=0, max_value=200, allow_nan=False), min_size=1, max_size=120).map(sorted)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(arrivals=arrivals, limit=st.integers(min_value=1, max_value=12), start=st.floats(min_value=0, max_value=60))
def test_memory_limiter_never_passes_more_than_the_limit_in_any_60_s(arrivals, limit, start):
    clock = FakeClock(0)
    allowed, refused = run(MemoryLimiter(clock=clock), clock, [WINDOW_START + start + a for a in arrivals], limit)
    assert busiest_span(allowed, 60) <= limit
    # ...and it is no stingier than a window of 61 s: a refusal means a full budget in the last 61 s.
    for at in refused:
        assert sum(1 for t in allowed if at - 61 < t <= at) >= limit, at


def test_a_steady_stream_gets_the_whole_limit_per_minute():
    clock = FakeClock(0)
    arrivals = [WINDOW_START + i * 0.25 for i in range(4 * 600)]  # 4 requests a second for 10 minutes
    allowed, _ = run(MemoryLimiter(clock=clock), clock, arrivals, 30)
    assert busiest_span(allowed, 60) == 30
    assert len(allowed) >= 30 * 600 // 61


def test_decision_headers():
    assert Decision(True, 10, 3, 17).headers() == {
        "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "17",
    }
    assert Decision(False, 10, 0, 40, retry_after=17).headers() == {
        "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "40", "Retry-After": "17",
    }


def backend_gauge() -> dict[str, float | None]:
    return {b: REGISTRY.get_sample_value("pepyhat_ratelimit_backend", {"backend": b}) for b in ("redis", "memory")}


def test_make_limiter_picks_the_backend(redis_url):
    shared = make_limiter(redis_url)
    try:
        assert isinstance(shared, RedisLimiter)
        assert shared.status == "redis"
        assert backend_gauge() == {"redis": 1.0, "memory": 0.0}
    finally:
        shared.close()
    assert isinstance(make_limiter(None), MemoryLimiter)
    assert backend_gauge() == {"redis": 0.0, "memory": 1.0}


# -- Redis ------------------------------------------------------------------------


@pytest.fixture
def redis_client(redis_url):
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client):
    """A prefix of this test's own; everything under it is deleted afterwards."""
    prefix = f"pepyhat-test:{uuid.uuid4().hex}:"
    yield prefix
    stale = list(redis_client.scan_iter(match=f"{prefix}*"))
    if stale:
        redis_client.delete(*stale)


def test_redis_limiters_share_one_budget(redis_url, redis_client, redis_prefix):
    clock = FakeClock(WINDOW_START + 15)
    node_a = RedisLimiter(redis_url, prefix=redis_prefix, clock=clock)
    node_b = RedisLimiter(redis_url, prefix=redis_prefix, clock=clock)
    try:
        assert node_a.hit("key_x", 3) == Decision(True, 3, 2, 61)
        assert node_b.hit("key_x", 3) == Decision(True, 3, 1, 61)
        assert node_a.hit("key_x", 3) == Decision(True, 3, 0, 61)
        assert node_b.hit("key_x", 3) == Decision(False, 3, 0, 61, retry_after=61)
        assert node_a.hit("key_y", 3) == Decision(True, 3, 2, 61)  # another key, another budget

        # The key's buckets expire with the last of them instead of piling up in Redis.
        ttl = redis_client.ttl(f"{redis_prefix}key_x")
        assert 0 < ttl <= 61

        clock.advance(61)
        assert node_b.hit("key_x", 3) == Decision(True, 3, 2, 61)
    finally:
        node_a.close()
        node_b.close()


def test_a_burst_across_a_minute_boundary_on_redis(redis_url, redis_prefix):
    clock = FakeClock(0)
    limiter = RedisLimiter(redis_url, prefix=redis_prefix, clock=clock)
    try:
        burst = [WINDOW_START - 0.8 + i * 0.1 for i in range(16)]
        assert len(run(limiter, clock, burst, 10)[0]) == 10
    finally:
        limiter.close()


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(arrivals=arrivals, limit=st.integers(min_value=1, max_value=12))
def test_redis_and_memory_limiters_decide_alike(redis_url, redis_prefix, arrivals, limit):
    """The Lua script is the in-process algorithm: same requests, same answers, header for header."""
    clock = FakeClock(0)
    shared = RedisLimiter(redis_url, prefix=redis_prefix, clock=clock)
    local = MemoryLimiter(clock=clock)
    key = uuid.uuid4().hex
    try:
        for at in arrivals:
            clock.now = WINDOW_START + at
            assert shared.hit(key, limit) == local.hit(key, limit), at
    finally:
        shared.close()


def test_a_lowered_limit_waits_for_enough_to_leave(redis_url, redis_prefix):
    """More counted than a newly lowered limit: Retry-After waits until enough buckets have left,
    on both limiters alike (bucket counts must not be mixed up on the way from Redis)."""
    clock = FakeClock(WINDOW_START)
    shared = RedisLimiter(redis_url, prefix=redis_prefix, clock=clock)
    local = MemoryLimiter(clock=clock)
    try:
        for at, hits in ((0, 2), (30, 6)):
            clock.now = WINDOW_START + at
            for _ in range(hits):
                assert shared.hit("key_l", 10) == local.hit("key_l", 10)
        clock.now = WINDOW_START + 40
        refused = shared.hit("key_l", 6)
        assert refused == local.hit("key_l", 6)
        # 8 counted against 6: the 2 of t=0 leaving (at 61) leave 6, still the limit; the 6 of t=30 leave at 91.
        assert (refused.allowed, refused.retry_after, refused.remaining) == (False, 51, 0)
    finally:
        shared.close()


def test_redis_on_its_own_clock_holds_the_limit_in_any_window(redis_url, redis_prefix):
    """Without an injected clock the script reads Redis's TIME: a 2 s window, hammered for 4.5 s."""
    limiter = RedisLimiter(redis_url, prefix=redis_prefix, window=2)
    try:
        allowed, offered = [], 0
        started = time.monotonic()
        while time.monotonic() - started < 4.5:
            sent = time.time()
            offered += 1
            if limiter.hit("key_t", 3).allowed:
                allowed.append(sent)
            time.sleep(0.01)
    finally:
        limiter.close()
    # Local send times stand in for Redis's: allow them the call's few milliseconds.
    assert busiest_span(allowed, 2 - 0.02) <= 3
    assert offered > 100 and 6 <= len(allowed) <= 9  # about 3 per 2 s (a bucket of 1/30 s more each)


def test_two_nodes_share_one_budget_through_redis(service, make, redis_url, redis_client):
    """Two service nodes on one database and one Redis: 2 requests on each spend a limit of 4."""
    app = seeded_app(make)
    email = make.user()
    created = make.key(app, rate_limit_per_minute=4)
    key = created["key"]
    nodes = [create_app(Settings(database_url=service.database_url, redis_url=redis_url)) for _ in range(2)]
    assert all(isinstance(node.state.runtime.limiter, RedisLimiter) for node in nodes)
    try:
        with ServerThread(nodes[0]) as a, ServerThread(nodes[1]) as b, \
                httpx.Client(base_url=a.url, timeout=30) as on_a, httpx.Client(base_url=b.url, timeout=30) as on_b:

            def ask(client: httpx.Client) -> httpx.Response:
                return client.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": key})

            spent = [ask(on_a), ask(on_a), ask(on_b), ask(on_b)]
            fifth_b, fifth_a = ask(on_b), ask(on_a)

        assert [r.status_code for r in spent] == [200, 200, 200, 200]
        assert [limited_headers(r) for r in spent] == [("4", "3"), ("4", "2"), ("4", "1"), ("4", "0")]
        for refused in (fifth_b, fifth_a):
            assert_error(refused, 429, "rate_limited")
            assert limited_headers(refused) == ("4", "0")
            assert 1 <= int(refused.headers["retry-after"]) <= int(refused.headers["x-ratelimit-reset"]) <= 61
    finally:
        redis_client.delete(f"pepyhat:rl:{created['id']}")  # no other run shares the key's id; tidy anyway
