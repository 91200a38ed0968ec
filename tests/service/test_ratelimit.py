"""Per-key rate limits: the in-process limiter, the Redis limiter, and one budget across nodes."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
import redis

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.ratelimit import Decision, MemoryLimiter, RedisLimiter, make_limiter
from tests.servers import ServerThread
from tests.service.test_dataplane import WINDOW_START, FakeClock, assert_error, authz, freeze_limiter, seeded_app


def fresh_window(margin: float = 5.0) -> None:
    """Wait for the next minute window if this one is about to end.

    Tests on the real clock send a handful of requests; starting them too close
    to a window boundary would split them over two windows (two budgets).
    """
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.05)


def limited_headers(response: httpx.Response) -> tuple[str, str]:
    return response.headers["x-ratelimit-limit"], response.headers["x-ratelimit-remaining"]


# -- in-process, through HTTP ------------------------------------------------------


def test_in_process_limit_through_http(service, make, monkeypatch):
    clock = freeze_limiter(service, monkeypatch)
    app = seeded_app(make)
    email = make.user()
    key = make.key(app, rate_limit_per_minute=3)["key"]

    for remaining in ("2", "1", "0"):
        response = authz(service, email, app, key)
        assert response.status_code == 200, response.text
        assert limited_headers(response) == ("3", remaining)
        assert response.headers["x-ratelimit-reset"] == "45"
        assert "retry-after" not in response.headers

    clock.advance(5)
    refused = authz(service, email, app, key)
    assert_error(refused, 429, "rate_limited")
    assert limited_headers(refused) == ("3", "0")
    assert refused.headers["x-ratelimit-reset"] == "40"
    assert refused.headers["retry-after"] == "40"

    clock.advance(40)  # the next window: a fresh budget
    again = authz(service, email, app, key)
    assert again.status_code == 200, again.text
    assert limited_headers(again) == ("3", "2")
    assert again.headers["x-ratelimit-reset"] == "60"


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
    """The service's own limiter (no injected clock) enforces the same budget."""
    app = seeded_app(make)
    email = make.user()
    key = make.key(app, rate_limit_per_minute=3)["key"]
    fresh_window()

    remaining = [authz(service, email, app, key) for _ in range(3)]
    refused = authz(service, email, app, key)

    assert [r.status_code for r in remaining] == [200, 200, 200]
    assert [limited_headers(r) for r in remaining] == [("3", "2"), ("3", "1"), ("3", "0")]
    assert_error(refused, 429, "rate_limited")
    reset = int(refused.headers["x-ratelimit-reset"])
    assert 1 <= reset <= 60
    assert refused.headers["retry-after"] == str(reset)


# -- MemoryLimiter ------------------------------------------------------------------


def test_memory_limiter_counts_within_a_window():
    limiter = MemoryLimiter(clock=FakeClock(WINDOW_START + 15))

    decisions = [limiter.hit("key_a", 2) for _ in range(4)]

    assert decisions == [
        Decision(True, 2, 1, 45),
        Decision(True, 2, 0, 45),
        Decision(False, 2, 0, 45),
        Decision(False, 2, 0, 45),
    ]


def test_memory_limiter_window_resets():
    clock = FakeClock(WINDOW_START + 59.5)
    limiter = MemoryLimiter(clock=clock)
    assert limiter.hit("key_a", 1) == Decision(True, 1, 0, 1)
    assert limiter.hit("key_a", 1).allowed is False

    clock.advance(0.5)  # exactly on the boundary: a new window
    assert limiter.hit("key_a", 1) == Decision(True, 1, 0, 60)
    assert limiter.hit("key_a", 1) == Decision(False, 1, 0, 60)

    clock.advance(59.999)  # still the same window; reset never says 0
    assert limiter.hit("key_a", 1) == Decision(False, 1, 0, 1)
    clock.now = WINDOW_START + 300  # windows skipped entirely
    assert limiter.hit("key_a", 1) == Decision(True, 1, 0, 60)


def test_reset_rounds_up_to_the_end_of_the_window():
    """44.5 s left is announced as 45: a client obeying Retry-After never arrives early."""
    limiter = MemoryLimiter(clock=FakeClock(WINDOW_START + 15.5))
    assert limiter.hit("key_a", 1) == Decision(True, 1, 0, 45)
    assert limiter.hit("key_a", 1) == Decision(False, 1, 0, 45)


def test_memory_limiter_keys_are_independent():
    limiter = MemoryLimiter(clock=FakeClock(WINDOW_START))
    assert limiter.hit("key_a", 1).allowed is True
    assert limiter.hit("key_a", 1).allowed is False
    assert limiter.hit("key_b", 1) == Decision(True, 1, 0, 60)


def test_decision_headers():
    assert Decision(True, 10, 3, 17).headers() == {
        "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "3", "X-RateLimit-Reset": "17",
    }
    assert Decision(False, 10, 0, 17).headers() == {
        "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "17", "Retry-After": "17",
    }


def test_make_limiter_picks_the_backend(redis_url):
    assert isinstance(make_limiter(None), MemoryLimiter)
    shared = make_limiter(redis_url)
    try:
        assert isinstance(shared, RedisLimiter)
    finally:
        shared.close()


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
        assert node_a.hit("key_x", 3) == Decision(True, 3, 2, 45)
        assert node_b.hit("key_x", 3) == Decision(True, 3, 1, 45)
        assert node_a.hit("key_x", 3) == Decision(True, 3, 0, 45)
        assert node_b.hit("key_x", 3) == Decision(False, 3, 0, 45)
        assert node_a.hit("key_y", 3) == Decision(True, 3, 2, 45)  # another key, another budget

        # The counter expires with its window instead of piling up in Redis.
        ttl = redis_client.ttl(f"{redis_prefix}key_x:{int(clock() // 60)}")
        assert 0 < ttl <= 61

        clock.advance(45)
        assert node_b.hit("key_x", 3) == Decision(True, 3, 2, 60)
    finally:
        node_a.close()
        node_b.close()


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

            fresh_window()
            spent = [ask(on_a), ask(on_a), ask(on_b), ask(on_b)]
            fifth_b, fifth_a = ask(on_b), ask(on_a)

        assert [r.status_code for r in spent] == [200, 200, 200, 200]
        assert [limited_headers(r) for r in spent] == [("4", "3"), ("4", "2"), ("4", "1"), ("4", "0")]
        for refused in (fifth_b, fifth_a):
            assert_error(refused, 429, "rate_limited")
            assert limited_headers(refused) == ("4", "0")
            assert refused.headers["retry-after"] == refused.headers["x-ratelimit-reset"]
    finally:
        # Counters live under the key's id, which no other run shares; remove them anyway.
        stale = list(redis_client.scan_iter(match=f"pepyhat:rl:{created['id']}:*"))
        if stale:
            redis_client.delete(*stale)
