"""The data plane's SQLite reads: the raw sqlite3 path answers exactly as SQLAlchemy's does.

``SqliteReads`` (file databases) compiles the statements of ``pepyhat.authz`` once and
runs them on its own connection, doing the type processing itself; ``InlineReads``
(in-memory databases) runs them through SQLAlchemy.  Same demo organisation, every key
and every (user, app) pair, at an instant where some grants have expired.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from pepyhat import demo
from pepyhat.store.db import make_engine, migrate
from pepyhat.store.reads import InlineReads, SqliteReads, make_reads
from pepyhat.store.tables import App, Key, User

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('reads') / 'reads.db'}")
    migrate(engine)
    demo.generate(engine, users=60, apps=4, seed=5, now=NOW)
    yield engine
    engine.dispose()


async def test_a_file_database_reads_through_sqlite3(engine):
    reads = make_reads(engine)
    assert isinstance(reads, SqliteReads)
    await reads.close()
    assert isinstance(make_reads(make_engine("sqlite://")), InlineReads)


async def test_key_rows_match_sqlalchemys(engine):
    raw, inline = SqliteReads(engine), InlineReads(engine)
    with engine.connect() as conn:
        hashes = conn.execute(select(Key.hash)).scalars().all()
        slugs = conn.execute(select(App.slug)).scalars().all()
    assert len(hashes) > 5
    try:
        async with raw.session() as fast, inline.session() as reference:
            for digest in [*hashes, "0" * 64]:
                for slug in [*slugs, "no-such-app"]:
                    assert await fast.key(digest, slug) == await reference.key(digest, slug)
            # What the data plane relies on: aware datetimes and decoded scopes.
            rows = [await fast.key(digest, slugs[0]) for digest in hashes]
            assert all(isinstance(row.scopes, list) and row.scopes for row in rows)
            dated = [row for row in rows if row.revoked_at or row.expires_at]
            assert dated and all((row.revoked_at or row.expires_at).tzinfo is timezone.utc for row in dated)
    finally:
        await raw.close()


@pytest.mark.parametrize("days", [0, 45], ids=["now", "later"])
async def test_access_matches_sqlalchemys(engine, days):
    at = NOW + timedelta(days=days)  # later: the demo's expiring grants have lapsed
    raw, inline = SqliteReads(engine), InlineReads(engine)
    with engine.connect() as conn:
        emails = conn.execute(select(User.email)).scalars().all()
        app_ids = conn.execute(select(App.id)).scalars().all()
    answers = set()
    try:
        async with raw.session() as fast, inline.session() as reference:
            for email in [*emails, "nobody@example.com"]:
                for app_id in app_ids:
                    expected = await reference.access(app_id, email, at)
                    assert await fast.access(app_id, email, at) == expected
                    answers.add((expected.found, expected.active, bool(expected.roles)))
    finally:
        await raw.close()
    # The comparison covered every kind of answer: unknown, deactivated, no roles, roles.
    assert {(False, False, False), (True, False, False), (True, True, False), (True, True, True)} <= answers


async def test_the_read_connection_cannot_write(engine):
    reads = SqliteReads(engine)
    try:
        async with reads.session() as session:
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                session._conn.execute("DELETE FROM keys")
    finally:
        await reads.close()
