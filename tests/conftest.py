"""Shared fixtures: databases on both backends, and a real service on loopback.

PostgreSQL and Redis come from PEPYHAT_TEST_POSTGRES_URL / PEPYHAT_TEST_REDIS_URL.
With PEPYHAT_REQUIRE_SERVICES=1 (as .ci/run sets) a missing service fails the
run instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

REQUIRE = os.environ.get("PEPYHAT_REQUIRE_SERVICES") == "1"

# The files that keep one worker busy longest (`--durations=0`, 2026-12-03), started first:
# with `--dist loadfile` a file is one unit of work, and one of these picked up last would run
# alone at the end while the other worker sits idle.  .ci/run passes --no-loadscope-reorder,
# or xdist would sort the files by their number of tests instead (these few-test tours last).
LONGEST_FIRST = (
    "tests/service/test_permissions.py",
    "tests/tui/test_hostile_text.py",
    "tests/tui/test_read_only.py",
    "tests/service/test_bad_input.py",
    "tests/tui/test_key_lifecycle.py",
    "tests/service/test_schemathesis.py",
    "tests/tui/test_audit_screen.py",
)


@pytest.hookimpl(trylast=True)  # after pytest's own ordering by fixture, kept within each file
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def need(service: str, env: str) -> str:
    value = os.environ.get(env)
    if value:
        return value
    message = f"{service} not configured: set {env}"
    if REQUIRE:
        pytest.fail(message + " (PEPYHAT_REQUIRE_SERVICES=1)")
    pytest.skip(message)


def create_postgres_database(admin_url: str) -> tuple[str, callable]:
    """A fresh database for this run; returns its URL and a dropper."""
    import psycopg
    from sqlalchemy.engine import make_url

    name = f"pepyhat_test_{uuid.uuid4().hex[:12]}"
    conninfo = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        if REQUIRE:
            pytest.fail(f"PostgreSQL unreachable at {admin_url}: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


@contextmanager
def fresh_database(backend: str, sqlite_file: Path) -> Iterator[str]:
    """A fresh database URL: ``sqlite_file`` for "sqlite", else a PostgreSQL database of its own, dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    try:
        yield url
    finally:
        drop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = need("Redis", "PEPYHAT_TEST_REDIS_URL")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        if REQUIRE:
            pytest.fail(f"Redis unreachable at {url}: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")
    return url
