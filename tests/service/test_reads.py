"""The data plane's SQLite reads: the raw sqlite3 path answers exactly as SQLAlchemy's does.

``SqliteReads`` (file databases) compiles ``pepyhat.store.access.ANSWER`` once and runs it on
its own connection, doing the type processing itself; ``InlineReads`` (in-memory
databases) runs it through SQLAlchemy.  Same demo organisation, compared key by key,
app by app and user by user, also at an instant where some grants have expired.
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


async def test_answers_match_sqlalchemys(engine):
    """Every key against every app, and every user in every app at two instants."""
    raw, inline = SqliteReads(engine), InlineReads(engine)
    with engine.connect() as conn:
        hashes = conn.execute(select(Key.hash)).scalars().all()
        slugs = conn.execute(select(App.slug)).scalars().all()
        emails = conn.execute(select(User.email)).scalars().all()
    assert len(hashes) > 5
    kinds = set()
    try:
        for digest in [*hashes, "0" * 64]:
            for slug in [*slugs, "no-such-app"]:
                for email in [*emails[:8], "nobody@example.com"]:
                    for at in (NOW, NOW + timedelta(days=45)):  # later: the demo's expiring grants have lapsed
                        expected = await inline.find(digest, slug, email, at)
                        assert await raw.find(digest, slug, email, at) == expected
                        kinds.add((expected.key is not None, expected.access.found, expected.access.active))
        for slug in slugs:
            for email in emails:
                expected = await inline.find(hashes[0], slug, email, NOW)
                assert await raw.find(hashes[0], slug, email, NOW) == expected
                kinds.add((True, expected.access.found, expected.access.active, bool(expected.access.roles)))
        # What the data plane relies on: aware datetimes and decoded scopes.
        keys = [(await raw.find(digest, slugs[0], emails[0], NOW)).key for digest in hashes]
        assert all(isinstance(key.scopes, list) and key.scopes for key in keys)
        dated = [key for key in keys if key.revoked_at or key.expires_at]
        assert dated and all((key.revoked_at or key.expires_at).tzinfo is timezone.utc for key in dated)
    finally:
        await raw.close()
    # The comparison covered every kind of answer: no key, unknown user, deactivated, no roles, roles.
    assert {(False, False, False), (True, False, False)} <= kinds
    assert {(True, True, False, False), (True, True, True, False), (True, True, True, True)} <= kinds


async def test_the_read_connection_cannot_write(engine):
    reads = SqliteReads(engine)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reads._connection().execute("DELETE FROM keys")
    finally:
        await reads.close()
