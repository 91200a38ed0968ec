"""Redis going away while the service runs: each node counts in its own memory, says so, and returns.

Against a private ``redis-server`` this test starts, stops and starts again, on a
port of its own: no 5xx during the outage, the fallback in ``/readyz`` and
``/metrics`` and in one log line, and Redis counting again once it is back.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
import redis
from prometheus_client import REGISTRY

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.ratelimit import RedisLimiter
from tests.servers import ServerThread, free_port, wait_for
from tests.service.test_dataplane import WINDOW_START, FakeClock, seeded_app
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


# -- failing fast and saying so once ------------------------------------------------


def hit_within(limiter: RedisLimiter, seconds: float) -> float:
    """How long one hit took; fails if it did not return within ``seconds`` (a hung call)."""
    done = threading.Event()
    elapsed = []

    def call():
        started = time.monotonic()
        limiter.hit("key_h", 5)
        elapsed.append(time.monotonic() - started)
        done.set()

    threading.Thread(target=call, daemon=True).start()
    assert done.wait(seconds), f"a hit waited on Redis for more than {seconds} s"
    return elapsed[0]


@contextmanager
def listener(backlog: int):
    """A TCP port that never answers: it accepts nothing, so connections wait in its backlog."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_a_refused_connection_falls_back_at_once(caplog):
    # redis-py's default retry backs off for seconds; ours retries once, at once.
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert hit_within(limiter, 10) < 1.0
    finally:
        limiter.close()


def test_a_redis_that_never_answers_holds_a_request_about_a_second():
    """Connected, but no reply (a paused or wedged Redis): the 0.5 s socket timeout, tried twice."""
    with ThreadPoolExecutor(1) as pool:
        server = socket.create_server(("127.0.0.1", 0))
        server.settimeout(0.1)  # a blocked accept() would not notice the socket closing
        accepted, done = [], threading.Event()

        def accept():  # take connections and never answer
            while not done.is_set():
                try:
                    accepted.append(server.accept()[0])
                except TimeoutError:
                    continue

        pool.submit(accept)
        limiter = RedisLimiter(f"redis://127.0.0.1:{server.getsockname()[1]}/0")
        try:
            assert hit_within(limiter, 10) < 2.5
            assert limiter.status.startswith("memory (fallback: TimeoutError")
            assert len(accepted) == 2  # one attempt and one immediate retry, no more
        finally:
            done.set()
            limiter.close()
            pool.shutdown()
            server.close()
            for conn in accepted:
                conn.close()


def test_a_connection_that_never_completes_holds_a_request_about_a_second():
    """No handshake at all (a full backlog, as behind a dropping firewall): the connect timeout."""
    with listener(backlog=0) as port:
        fillers = []
        for _ in range(3):  # fill the backlog; later handshakes get no answer
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        limiter = RedisLimiter(f"redis://127.0.0.1:{port}/0")
        try:
            assert hit_within(limiter, 10) < 2.5
            assert limiter.status.startswith("memory (fallback: TimeoutError")
        finally:
            limiter.close()
            for filler in fillers:
                filler.close()


def test_the_fallback_is_said_once_with_its_reason(caplog):
    caplog.set_level(logging.INFO, logger="pepyhat.ratelimit")
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", retry_every=30)
    fallbacks = REGISTRY.get_sample_value("pepyhat_ratelimit_fallbacks_total") or 0.0
    try:
        # Two requests that found Redis gone at the same moment: one fallback between them.
        limiter._fall_back(redis.ConnectionError("gone " + "x" * 500))
        limiter._fall_back(redis.ConnectionError("gone again"))
        reason = "ConnectionError: gone " + "x" * (200 - len("ConnectionError: gone "))
        assert limiter.status == f"memory (fallback: {reason})"
        assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
            f"rate limiter: Redis unreachable ({reason}); counting in this node's memory until it is back"
        ]
        assert REGISTRY.get_sample_value("pepyhat_ratelimit_fallbacks_total") == fallbacks + 1
        # The probe never keeps the process alive, and says what it is in a thread dump.
        assert limiter._probe is not None and limiter._probe.daemon and limiter._probe.name == "pepyhat-redis-probe"
    finally:
        limiter.close()


def test_the_fallback_counts_on_the_limiter_s_clock_and_window():
    clock = FakeClock(WINDOW_START)
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0", clock=clock, window=2)
    try:
        assert limiter.hit("key_w", 1).allowed
        assert not limiter.hit("key_w", 1).allowed
        clock.advance(2.1)  # the request has left a 2 s window, on the injected clock
        assert limiter.hit("key_w", 1).allowed
    finally:
        limiter.close()


def test_a_closed_limiter_starts_no_probe():
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0")
    limiter.close()
    assert limiter.hit("key_c", 1).allowed  # still answers, from memory
    assert limiter._probe is None


def test_the_probe_looks_for_redis_every_second(monkeypatch):
    limiter = RedisLimiter(f"redis://127.0.0.1:{free_port()}/0")
    probes = []

    def ping():
        probes.append(time.monotonic())
        raise redis.ConnectionError("still down")

    monkeypatch.setattr(limiter, "ping", ping)
    monkeypatch.setattr(limiter._redis, "ping", ping)
    try:
        started = time.monotonic()
        limiter.hit("key_p", 1)
        time.sleep(2.5)
    finally:
        limiter.close()
    assert [round(at - started) for at in probes] == [1, 2]
