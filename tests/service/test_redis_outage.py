"""Redis going away while the service runs: each node counts in its own memory, says so, and returns.

Against a private ``redis-server`` this test starts, stops and starts again, on a
port of its own: no 5xx during the outage, the fallback in ``/readyz`` and
``/metrics`` and in one log line, and Redis counting again once it is back.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from contextlib import contextmanager

import httpx
import pytest
import redis

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.ratelimit import RedisLimiter
from tests.servers import ServerThread, free_port
from tests.service.test_dataplane import seeded_app
from tests.service.test_ops import scrape

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of this test's own, with nothing on disk."""

    def __init__(self, port: int, tmp_path) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.tmp_path = tmp_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if REDIS_SERVER is None:  # .ci/run installs what it needs; a skip would hide the outage untested
            pytest.fail("redis-server is not on PATH")
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert self.process.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=0.5)


@contextmanager
def private_redis(tmp_path):
    server = PrivateRedis(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_for(predicate, what: str, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


class Node:
    """What ``scrape`` needs of a service: an anonymous client."""

    def __init__(self, url: str) -> None:
        self.url = url

    def anonymous(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def backend_gauge(metrics: dict) -> dict[str, float]:
    return {
        dict(labels)["backend"]: value
        for (name, labels), value in metrics.items()
        if name == "pepyhat_ratelimit_backend"
    }


def test_redis_outage_falls_back_and_recovers(service, make, tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="pepyhat.ratelimit")
    app = seeded_app(make)
    email = make.user()
    roomy = make.key(app, rate_limit_per_minute=1000)
    tight = make.key(app, rate_limit_per_minute=2)

    with private_redis(tmp_path) as store:
        node = create_app(Settings(database_url=service.database_url, redis_url=store.url))
        limiter = node.state.runtime.limiter
        assert isinstance(limiter, RedisLimiter)
        monkeypatch.setattr(limiter, "_retry_every", 0.2)
        shared_calls = []
        real_shared = limiter._shared
        monkeypatch.setattr(limiter, "_shared", lambda *a: shared_calls.append(a) or real_shared(*a))

        with ServerThread(node) as server, httpx.Client(base_url=server.url, timeout=30) as client:
            served = Node(server.url)

            def ask(key) -> httpx.Response:
                return client.get(f"/api/v1/authz/{email}", params={"app": app}, headers={"X-API-Key": key["key"]})

            def ready() -> dict:
                response = client.get("/readyz")
                assert response.status_code == 200, response.text  # readiness is the database's
                return response.json()

            # Redis up: counted there.
            assert [ask(roomy).status_code for _ in range(3)] == [200, 200, 200]
            assert store.client().exists(f"pepyhat:rl:{roomy['id']}") == 1
            assert ready() == {"status": "ok", "limiter": "redis"}
            before = scrape(served)
            assert backend_gauge(before) == {"redis": 1.0, "memory": 0.0}

            # Redis goes away: no 5xx, one call finds it gone, then memory without waiting on Redis.
            store.stop()
            shared_calls.clear()
            during = [ask(roomy) for _ in range(20)]
            assert [r.status_code for r in during] == [200] * 20, [r.text for r in during if r.status_code != 200]
            assert all(r.headers["x-ratelimit-limit"] == "1000" for r in during)
            assert len(shared_calls) == 1
            # Limits still hold, per node.
            assert [ask(tight).status_code for _ in range(3)] == [200, 200, 429]
            readiness = ready()
            assert readiness["status"] == "ok" and readiness["limiter"].startswith("memory (fallback: ConnectionError")
            after = scrape(served)
            assert backend_gauge(after) == {"redis": 0.0, "memory": 1.0}
            fallbacks = "pepyhat_ratelimit_fallbacks_total"
            assert after[(fallbacks, frozenset())] - before.get((fallbacks, frozenset()), 0.0) == 1
            warnings = [r for r in caplog.records if r.name == "pepyhat.ratelimit" and r.levelno == logging.WARNING]
            assert len(warnings) == 1 and "counting in this node's memory" in warnings[0].getMessage()

            # Redis returns (empty: no persistence): the node finds it and counts there again.
            store.start()
            wait_for(lambda: ready()["limiter"] == "redis", "the limiter to return to Redis")
            assert backend_gauge(scrape(served)) == {"redis": 1.0, "memory": 0.0}
            assert any(r.getMessage().startswith("rate limiter: Redis is back") for r in caplog.records)
            assert ask(roomy).status_code == 200
            assert store.client().exists(f"pepyhat:rl:{roomy['id']}") == 1
            assert len([r for r in caplog.records if r.levelno == logging.WARNING and r.name == "pepyhat.ratelimit"]) == 1


def test_redis_down_at_start_is_a_fallback_not_a_fault(tmp_path, caplog):
    """A node whose Redis is unreachable from the first request counts in memory and keeps probing."""
    caplog.set_level(logging.INFO, logger="pepyhat.ratelimit")
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", retry_every=0.1)
    try:
        decisions = [limiter.hit("key_a", 2) for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert limiter.local and limiter.status.startswith("memory (fallback: ConnectionError")
        time.sleep(0.35)  # a few probes fail quietly
        assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    finally:
        limiter.close()
    assert limiter._probe is not None and not limiter._probe.is_alive()  # close() ends the probe
