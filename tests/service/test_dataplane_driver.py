"""The data plane's PostgreSQL read (``AsyncpgReads``) and its way in ahead of the framework.

``AsyncpgReads`` runs ``pepyhat.store.access.ANSWER`` as a statement prepared on
each of a few asyncpg connections: it must answer exactly as SQLAlchemy does,
reuse its connections, survive the server dropping them, and lose none when a
waiting request is cancelled.  ``dataplane.serve`` answers ``GET
/api/v1/authz/...`` before the framework's routing; the route it bypasses
answers the same bytes.
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import select, text
from starlette.requests import Request

from pepyhat import demo
from pepyhat.api import create_app, dataplane
from pepyhat.config import Settings
from pepyhat.store.access import ANSWER
from pepyhat.store.db import make_engine, migrate
from pepyhat.store.reads import STATEMENT, AsyncpgReads, Disconnected, _found, make_reads
from pepyhat.store.tables import App, Key, User
from tests.conftest import create_postgres_database, need

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pg_engine():
    url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    engine = make_engine(url)
    migrate(engine)
    demo.generate(engine, users=40, apps=3, seed=5, now=NOW)
    yield engine
    engine.dispose()
    drop()


def _sqlalchemy_find(engine, digest, slug, email, at):
    with engine.connect() as conn:
        return _found(conn.execute(ANSWER, {"hash": digest, "slug": slug, "email": email, "at": at}).all())


def _fixture_of(engine):
    with engine.connect() as conn:
        return (
            conn.execute(select(Key.hash).order_by(Key.id)).scalars().all(),
            conn.execute(select(App.slug).order_by(App.slug)).scalars().all(),
            conn.execute(select(User.email).order_by(User.email)).scalars().all(),
        )


async def test_postgresql_reads_through_asyncpg(pg_engine):
    reads = make_reads(pg_engine)
    assert isinstance(reads, AsyncpgReads)
    await reads.close()


@pytest.mark.parametrize(("cores", "expected"), [(1, 2), (2, 4), (8, 16), (64, 16), (None, 2)])
def test_connections_default_to_twice_the_cores(pg_engine, monkeypatch, cores, expected):
    # More backends than cores queue for the CPU: on 2 cores, 16 gave a p99 of 82 ms, 4 of 8 ms.
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    assert make_reads(pg_engine)._size == expected


def test_the_setting_sizes_the_data_planes_connections(pg_engine, monkeypatch):
    monkeypatch.setenv("PEPYHAT_DATAPLANE_CONNECTIONS", "7")
    monkeypatch.setenv("PEPYHAT_DATABASE_URL", pg_engine.url.render_as_string(hide_password=False))
    app = create_app(Settings())
    try:
        assert app.state.runtime.reads._size == 7
    finally:
        app.state.runtime.engine.dispose()


async def test_answers_match_sqlalchemys(pg_engine):
    """Every key against every app, and users in every app at two instants: the same Found."""
    hashes, slugs, emails = _fixture_of(pg_engine)
    reads = AsyncpgReads(pg_engine)
    kinds = set()
    try:
        for digest in [*hashes[:6], "0" * 64]:
            for slug in [*slugs, "no-such-app"]:
                for email in [*emails[:6], "nobody@example.com"]:
                    for at in (NOW, NOW + timedelta(days=45)):  # later: the demo's expiring grants have lapsed
                        expected = _sqlalchemy_find(pg_engine, digest, slug, email, at)
                        assert await reads.find(digest, slug, email, at) == expected
                        kinds.add((expected.key is not None, expected.access.found, bool(expected.access.roles)))
    finally:
        await reads.close()
    assert kinds >= {(False, False, False), (True, False, False), (True, True, True), (True, True, False)}


async def test_the_statement_is_planned_once_per_connection(pg_engine):
    """Prepared by name with a generic plan: PostgreSQL plans the unnamed statement asyncpg
    prepares without a cache again at every execution (580 us of its CPU per answer, 75 planned once)."""
    hashes, slugs, emails = _fixture_of(pg_engine)
    reads = AsyncpgReads(pg_engine, size=1)
    try:
        for n in range(12):
            await reads.find(hashes[n % len(hashes)], slugs[n % len(slugs)], emails[n % len(emails)], NOW)
        conn = reads._free[0].conn
        plans = await conn.fetchrow(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = $1", STATEMENT
        )
    finally:
        await reads.close()
    assert plans is not None, "the data plane's statement is not a named prepared statement"
    assert (plans["generic_plans"], plans["custom_plans"]) == (12, 0)


async def test_connections_are_reused_and_bounded(pg_engine):
    hashes, slugs, emails = _fixture_of(pg_engine)
    reads = AsyncpgReads(pg_engine, size=3)
    try:
        expected = _sqlalchemy_find(pg_engine, hashes[0], slugs[0], emails[0], NOW)
        for _ in range(20):
            assert await reads.find(hashes[0], slugs[0], emails[0], NOW) == expected
        assert reads._opened == 1  # one at a time: one connection
        answers = await asyncio.gather(*(reads.find(hashes[0], slugs[0], emails[0], NOW) for _ in range(40)))
        assert all(a == expected for a in answers)
        assert reads._opened == 3 and len(reads._free) == 3  # never more than its size, all back
    finally:
        await reads.close()
    assert reads._opened == 0


async def test_a_dropped_connection_is_retryable_and_replaced(pg_engine):
    hashes, slugs, emails = _fixture_of(pg_engine)
    reads = AsyncpgReads(pg_engine, size=4)
    try:
        await asyncio.gather(*(reads.find(hashes[0], slugs[0], emails[0], NOW) for _ in range(8)))
        assert reads._opened >= 1
        with pg_engine.connect() as conn:  # what a database restart does
            killed = conn.execute(text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )).scalar()
        assert killed >= 1
        await asyncio.sleep(0.2)  # let the loop see the sockets close, as idle time in a server would
        with pytest.raises(Disconnected):
            await reads.find(hashes[0], slugs[0], emails[0], NOW)
        assert reads._opened == 0  # the dead one and its idle siblings are gone
        expected = _sqlalchemy_find(pg_engine, hashes[0], slugs[0], emails[0], NOW)
        assert await reads.find(hashes[0], slugs[0], emails[0], NOW) == expected
    finally:
        await reads.close()


async def test_a_cancelled_waiter_loses_no_connection(pg_engine):
    hashes, slugs, emails = _fixture_of(pg_engine)
    reads = AsyncpgReads(pg_engine, size=1)
    try:
        held = await reads._take()  # the only connection, busy
        waiting = asyncio.ensure_future(reads.find(hashes[0], slugs[0], emails[0], NOW))
        await asyncio.sleep(0.05)
        assert reads._waiting
        reads._give(held)  # handed to the waiter ...
        waiting.cancel()  # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert reads._opened == 1 and len(reads._free) == 1  # passed back, not lost
        expected = _sqlalchemy_find(pg_engine, hashes[0], slugs[0], emails[0], NOW)
        assert await reads.find(hashes[0], slugs[0], emails[0], NOW) == expected
    finally:
        await reads.close()


# -- ahead of the framework -------------------------------------------------------------


def _scope(service, path: str, query: bytes, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query, "headers": headers, "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80),
        "scheme": "http", "http_version": "1.1", "app": service.app, "state": {},
    }


async def test_the_route_answers_what_serve_answers(service, make, monkeypatch):
    """The same bytes through ``serve`` (over HTTP) and through the documented route's endpoint."""
    slug = make.app(roles={"viewer": ["users.read"]})
    email = make.user()
    make.grant(slug, email, "viewer")
    key = make.key(slug)["key"]
    cases = [
        (email, {"app": slug}, {"X-API-Key": key}),  # allowed
        (email.upper(), {"app": slug}, {"X-API-Key": key}),  # the email is case-folded
        ("nobody@example.com", {"app": slug}, {"X-API-Key": key}),  # unknown user
        (email, {}, {"X-API-Key": key}),  # missing_app
        (email, {"app": slug}, {}),  # missing_api_key
        (email, {"app": "no-such-app-x"}, {"X-API-Key": key}),  # app_not_found
        (email, {"app": slug}, {"X-API-Key": "phk_nope"}),  # malformed
    ]
    with service.anonymous() as client:
        over_http = [client.get(f"/api/v1/authz/{who}", params=params, headers=headers) for who, params, headers in cases]
    # The server's reads belong to its own event loop: this test's loop gets its own.
    reads = make_reads(service.engine)
    monkeypatch.setattr(service.runtime, "reads", reads)
    try:
        for (who, params, headers), expected in zip(cases, over_http):
            raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            scope = _scope(service, f"/api/v1/authz/{who}", str(httpx.QueryParams(params)).encode(), raw)
            scope["path_params"] = {"email": who}  # as the router sets them
            response = await dataplane.authz_check(Request(scope))
            assert response.status_code == expected.status_code, (who, params, expected.text)
            assert response.body == expected.content
            assert response.headers["cache-control"] == expected.headers["cache-control"] == "no-store"
            assert response.headers["content-type"] == expected.headers["content-type"] == "application/json"
    finally:
        await reads.close()


async def test_serve_leaves_other_shapes_to_the_router(service):
    for method, path in (("POST", "/api/v1/authz/a@example.com"), ("HEAD", "/api/v1/authz/a@example.com"),
                         ("GET", "/api/v1/authz/"), ("GET", "/api/v1/authz/a/b")):
        scope = _scope(service, path, b"app=crm", [])
        scope["method"] = method
        sent = []

        async def send(message):
            sent.append(message)

        assert await dataplane.serve(scope, send) is False
        assert sent == []
    with service.anonymous() as client:
        assert client.get("/api/v1/authz/a/b", params={"app": "crm"}).status_code == 404
        assert client.post("/api/v1/authz/a@example.com", params={"app": "crm"}).status_code == 405


# -- the access log's cheap pieces ----------------------------------------------------------


def test_the_log_timestamp_is_isoformats():
    from pepyhat.logs import _timestamp

    for created in (1_700_000_000.0, 1_700_000_000.0015, 1_700_000_000.9994, 1_764_700_000.25, 1_764_700_001.5):
        assert _timestamp(created) == datetime.fromtimestamp(created, timezone.utc).isoformat(timespec="milliseconds")


def test_an_access_record_is_a_whole_log_record():
    """Any formatter (pytest's, a %-style one) finds every field it may ask for, and the request's."""
    import logging

    from pepyhat.api.middleware import _AccessRecord

    record = _AccessRecord("GET", "/api/v1/authz/{email}", 200, request_id="r1", key_id=None, path="/x",
                           duration_ms=1.5, client="127.0.0.1")
    everything = " ".join(f"%({name})s" for name in (
        "name", "levelno", "levelname", "pathname", "filename", "module", "lineno", "funcName", "created", "asctime",
        "msecs", "relativeCreated", "thread", "threadName", "process", "processName", "message"))
    line = logging.Formatter(everything).format(record)
    assert "pepyhat.access 20 INFO" in line and line.endswith("GET /api/v1/authz/{email} 200")
    assert (record.request_id, record.status, record.route, record.method) == ("r1", 200, "/api/v1/authz/{email}", "GET")


def test_serve_freezes_its_start_up_objects(tmp_path, monkeypatch):
    """``pepyhat serve``'s factory: full collections no longer scan the ~100k objects of start-up."""
    import gc

    from pepyhat import cli

    monkeypatch.setenv("PEPYHAT_DATABASE_URL", f"sqlite:///{tmp_path / 'frozen.db'}")
    monkeypatch.setattr("pepyhat.logs.configure", lambda level="INFO": None)  # keep the session's log handlers
    try:
        app = cli.served_app()
        assert app.state.runtime.settings.database_url.endswith("frozen.db")
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
