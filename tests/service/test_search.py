"""Substring search through the trigram indexes (migration 0003) answers exactly what a scan would.

Random users (emails and mixed-case names over an alphabet with the FTS5
query syntax in it) on both backends; random terms, many of them pieces of
the data; every page walked by cursor.  The reference is Python: ASCII case
folding (what SQLite's LIKE folds; the non-ASCII letters below come in one
case only, so PostgreSQL's wider folding agrees).  Both of SQLite's paths are
walked: through the index, and the scan a common term falls back to (and both
ways of checking membership: listing the holders, or asking per user).
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from pepyhat.schemas import SUPERADMIN_SCOPES, CAPABILITIES
from pepyhat.service import members, users
from pepyhat.service.actor import Actor
from pepyhat.store import pages
from pepyhat.store.db import make_engine, make_sessionmaker, migrate
from pepyhat.store.tables import App, Grant, Role, User
from tests.conftest import create_postgres_database, need

ALPHABET = "abcdeABCDE019 .-_@%\\\"*'():^+éü中"
HOSTILE = ['"', '""', "*", "a*", "NEAR", "NEAR(a b)", "a OR b", "AND", "NOT x", "^ab", "ab:cd", "(ab)", "{a b}", "%", "_", "\\", "中文"]
AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
ACTOR = Actor(None, "test", "admin", frozenset(CAPABILITIES), SUPERADMIN_SCOPES)


UPPER, LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"


def ascii_fold(text: str) -> str:
    return text.translate(str.maketrans(UPPER, LOWER))


def ascii_upper(text: str) -> str:
    return text.translate(str.maketrans(LOWER, UPPER))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def org(request, tmp_path_factory):
    """400 random users, every third a member of one app; the engine, and the rows as Python sees them."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('search') / 'search.db'}", (lambda: None)
    else:
        url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    engine = make_engine(url)
    migrate(engine)
    rng = random.Random(11)
    word = lambda n: "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, n)))  # noqa: E731
    rows = []
    for i in range(400):
        email = ascii_fold(f"{word(10)}{i}@{rng.choice(['example.com', 'ex.org', word(6)])}".replace(" ", ""))
        rows.append(dict(id=i + 1, email=email, name=word(14), active=True, created_at=AT, updated_at=AT))
    with engine.begin() as conn:
        conn.execute(insert(User), rows)
        conn.execute(insert(App), [dict(id=1, slug="crm", name="CRM", created_at=AT, updated_at=AT)])
        conn.execute(insert(Role), [dict(id=1, app_id=1, slug="viewer", name="Viewer", created_at=AT, updated_at=AT)])
        conn.execute(insert(Grant), [dict(user_id=r["id"], role_id=1, granted_by="t", granted_at=AT) for r in rows[::3]])
    yield engine, rows
    engine.dispose()
    drop()


def pieces(rows):
    texts = [r["email"] for r in rows] + [r["name"] for r in rows]
    return st.builds(
        lambda text, start, length, upper: (lambda s: ascii_upper(s) if upper else s)(text[start % len(text):][:length]),
        st.sampled_from(texts), st.integers(0, 20), st.integers(1, 8), st.booleans(),
    )


def expected(rows, term: str, only=None) -> list[str]:
    folded = ascii_fold(term)
    hits = [r for r in rows if folded in ascii_fold(r["email"]) or folded in ascii_fold(r["name"])]
    return sorted(r["email"] for r in hits if only is None or r["id"] in only)


def walk(session, term: str, listing) -> list[str]:
    got, cursor = [], None
    while True:
        page = listing(session, ACTOR, q=term, limit=25, cursor=cursor)
        got.extend(u.email for u in page.data)
        if not page.has_more:
            return got
        cursor = page.next_cursor


# How many matches make a term common, forced: every term through the index, or nearly every one scanned.
PATHS = {"index": 10**9, "common-scan": 4}


@pytest.mark.parametrize("common", PATHS.values(), ids=PATHS.keys())
def test_users_and_members_search_is_a_substring_filter(org, common, monkeypatch):
    engine, rows = org
    monkeypatch.setattr(pages, "common_at", lambda session, index: common)
    # The scan's turn is the many-members one's too: members checked per user (EXISTS), not listed.
    monkeypatch.setattr(members, "DENSE", members.DENSE if common == PATHS["index"] else 1)
    members_of_crm = {r["id"] for r in rows[::3]}
    terms = st.one_of(pieces(rows), st.text(alphabet=ALPHABET, min_size=1, max_size=6), st.sampled_from(HOSTILE))

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(term=terms)
    def check(term):
        with make_sessionmaker(engine)() as session:
            assert walk(session, "@", users.list_users) == expected(rows, "@")
            crm = lambda s, a, **kw: members.list_members(s, a, "crm", **kw)  # noqa: E731
            assert walk(session, term, crm) == expected(rows, term, members_of_crm)

    check()


def test_a_term_in_many_rows_still_pages_in_order(org, monkeypatch):
    """The common-term path and the index path give the same pages for the same term."""
    engine, rows = org
    with make_sessionmaker(engine)() as session:
        monkeypatch.setattr(pages, "common_at", lambda session, index: PATHS["index"])
        through_index = walk(session, "example", users.list_users)
        monkeypatch.setattr(pages, "common_at", lambda session, index: 1)
        scanned = walk(session, "example", users.list_users)
        assert through_index == scanned == expected(rows, "example")
        assert walk(session, "@", users.list_users) == expected(rows, "@")


def test_a_term_is_common_past_the_root_of_a_page_times_the_table(tmp_path):
    """SQLite: a term in fewer than sqrt(51 * users) rows is looked up in the index, one in more is
    scanned in page order; and the line moves with the table (a fixed line cost a common term 5 ms
    of counting at 1M users)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'common.db'}")
    migrate(engine)

    def add(first: int, count: int, name) -> None:
        with engine.begin() as conn:
            conn.execute(insert(User), [
                dict(email=f"u{i}@example.com", name=name(i), active=True, created_at=AT, updated_at=AT)
                for i in range(first, first + count)
            ])

    def indexed(term: str) -> bool:
        with make_sessionmaker(engine)() as session:
            condition = pages.indexed_search(session, pages.USERS, term)
            return "users_fts" in str(condition.compile(engine))

    # 900 users: the line is isqrt(51 * 900) = 214.  "alpha" is in 214 of them, "gamma" in 213.
    add(1, 900, lambda i: "alpha" if i <= 214 else "gamma" if i <= 427 else "other")
    assert (indexed("alpha"), indexed("gamma")) == (False, True)
    add(901, 100, lambda i: "other")  # 1000 users: the line is now 225
    assert (indexed("alpha"), indexed("gamma")) == (True, True)
    engine.dispose()


def test_postgresql_plans_each_search_with_its_term():
    """No prepared statement (its generic plan cannot know the pattern and scanned every user for
    a rare one), the planner told a scan is a last resort and a page no work for parallel workers,
    for the search's transaction only (pg_trgm prices a long pattern above a scan of the whole
    table), and a histogram of emails and names fine enough to estimate a term's share (0006)."""
    from sqlalchemy import text

    url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    engine = make_engine(url)
    try:
        migrate(engine)
        rows = [dict(email=f"user{i}@example.com", name=f"User {i}", active=True, created_at=AT, updated_at=AT)
                for i in range(30)]
        with engine.begin() as conn:
            conn.execute(insert(User), rows)
        with make_sessionmaker(engine)() as session:
            for _ in range(8):  # psycopg would prepare from the 5th
                assert walk(session, "user1", users.list_users) == expected(rows, "user1")
            assert session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one() == 0
            assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "off"
            assert session.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one() == "0"
            session.rollback()
            assert session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"
            assert session.execute(text("SHOW max_parallel_workers_per_gather")).scalar_one() != "0"
            targets = session.execute(text(
                "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = 'users'::regclass"
                " AND attname IN ('email', 'name')"
            )).all()
            assert sorted(targets) == [("email", 1000), ("name", 1000)]
    finally:
        engine.dispose()
        drop()
