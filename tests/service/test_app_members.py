"""``app_members`` (migrations 0004, 0005) follows every write to ``grants``, on SQLite and PostgreSQL.

It is written only by triggers, so these tests write as every writer does, in SQL:
grants added and removed, a grant's expiry changed, and the cascades of a role,
a user and an app deleted.  After each step it must hold exactly one row per
(app, user with any grant there), with the latest expiry of those grants (None
when one never expires), worked out here in Python from the grants themselves.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from pepyhat.store.db import make_engine, migrate
from tests.conftest import create_postgres_database, need

AT = datetime(2026, 1, 1, tzinfo=timezone.utc)
EXPIRIES = [None, AT, AT + timedelta(days=1), AT + timedelta(days=2)]


def _database(backend: str, tmp_path) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'members.db'}", (lambda: None)
    return create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))


@pytest.fixture
def engine(backend, tmp_path):
    url, drop = _database(backend, tmp_path)
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()
    drop()


def _organisation(conn, apps: int = 3, roles: int = 3, users: int = 12) -> None:
    for a in range(apps):
        conn.execute(text("INSERT INTO apps (slug, name, description, created_at, updated_at) VALUES (:s, :s, '', :at, :at)"),
                     {"s": f"app{a}", "at": AT})
    app_ids = conn.execute(text("SELECT id FROM apps ORDER BY id")).scalars().all()
    for app_id in app_ids:
        for r in range(roles):
            conn.execute(
                text("INSERT INTO roles (app_id, slug, name, description, created_at, updated_at) VALUES (:a, :s, :s, '', :at, :at)"),
                {"a": app_id, "s": f"role{r}", "at": AT},
            )
    for u in range(users):
        conn.execute(
            text("INSERT INTO users (email, name, active, created_at, updated_at) VALUES (:e, :e, true, :at, :at)"),
            {"e": f"user{u:02d}@example.com", "at": AT},
        )


def _members(conn) -> set[tuple]:
    return set(conn.execute(text("SELECT app_id, email, user_id, live_until FROM app_members")).all())


def _expected(conn) -> set[tuple]:
    """(app, email, user, live until) from the grants: None if one never expires, else the latest."""
    expiries = defaultdict(list)
    for app_id, email, user_id, expires_at in conn.execute(text(
        "SELECT r.app_id, u.email, u.id, g.expires_at FROM grants g JOIN roles r ON r.id = g.role_id "
        "JOIN users u ON u.id = g.user_id"
    )):
        expiries[app_id, email, user_id].append(expires_at)
    return {(*member, None if None in ends else max(ends)) for member, ends in expiries.items()}


def _grant(conn, user_id: int, role_id: int, expires_at: datetime | None = None) -> None:
    conn.execute(
        text("INSERT INTO grants (user_id, role_id, granted_by, granted_at, expires_at) VALUES (:u, :r, 'test', :at, :ex)"),
        {"u": user_id, "r": role_id, "at": AT, "ex": expires_at},
    )


def test_app_members_follow_every_write(engine):
    rng = random.Random(4)
    with engine.begin() as conn:
        _organisation(conn)
    for _ in range(150):
        with engine.begin() as conn:
            users = conn.execute(text("SELECT id FROM users")).scalars().all()
            roles = conn.execute(text("SELECT id FROM roles")).scalars().all()
            grants = conn.execute(text("SELECT user_id, role_id FROM grants")).all()
            move = rng.random()
            if move < 0.45 or not grants:
                if users and roles:
                    user_id, role_id = rng.choice(users), rng.choice(roles)
                    if (user_id, role_id) not in grants:
                        _grant(conn, user_id, role_id, rng.choice(EXPIRIES))
            elif move < 0.70:
                user_id, role_id = rng.choice(grants)
                conn.execute(text("DELETE FROM grants WHERE user_id = :u AND role_id = :r"), {"u": user_id, "r": role_id})
            elif move < 0.90:
                user_id, role_id = rng.choice(grants)
                conn.execute(text("UPDATE grants SET expires_at = :at WHERE user_id = :u AND role_id = :r"),
                             {"at": rng.choice(EXPIRIES), "u": user_id, "r": role_id})
            elif move < 0.95:
                conn.execute(text("DELETE FROM roles WHERE id = :r"), {"r": rng.choice(roles)})  # cascades to grants
            else:
                conn.execute(text("DELETE FROM users WHERE id = :u"), {"u": rng.choice(users)})
            assert _members(conn) == _expected(conn)
    with engine.begin() as conn:
        assert _members(conn), "the walk should leave some members"
        conn.execute(text("DELETE FROM apps WHERE slug = 'app0'"))  # roles, then grants, by cascade
        assert _members(conn) == _expected(conn)


def test_a_bulk_load_fills_it_as_the_triggers_do(engine):
    """``APP_MEMBERS_FILL`` (demo-data's bulk load, its insert trigger suspended) gives the same rows,
    a member with a grant for good beside an expiring one included."""
    from pepyhat.store.tables import APP_MEMBERS_FILL

    with engine.begin() as conn:
        _organisation(conn, apps=2, roles=2, users=4)
        roles = conn.execute(text("SELECT id FROM roles ORDER BY id")).scalars().all()  # two per app
        users = conn.execute(text("SELECT id FROM users ORDER BY id")).scalars().all()
        for user_id, role_id, expires_at in [
            (users[0], roles[0], None), (users[0], roles[1], EXPIRIES[2]),  # for good
            (users[1], roles[0], EXPIRIES[1]), (users[1], roles[1], EXPIRIES[2]),  # the later
            (users[2], roles[2], EXPIRIES[1]), (users[3], roles[3], None),
        ]:
            _grant(conn, user_id, role_id, expires_at)
        by_triggers = _members(conn)
        assert by_triggers == _expected(conn) and len(by_triggers) == 4
        assert sorted(row[3] is None for row in by_triggers) == [False, False, True, True]
        conn.execute(text("DELETE FROM app_members"))
        conn.execute(text(APP_MEMBERS_FILL))
        assert _members(conn) == by_triggers


def test_the_migration_fills_it_from_the_grants_there(backend, tmp_path):
    from alembic import command

    from pepyhat.store.db import alembic_config

    url, drop = _database(backend, tmp_path)
    engine = make_engine(url)
    config = alembic_config()
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0003")
            _organisation(conn, apps=2, roles=2, users=3)
            roles = conn.execute(text("SELECT id FROM roles ORDER BY id")).scalars().all()
            users = conn.execute(text("SELECT id FROM users ORDER BY id")).scalars().all()
            # users[0] in the first app until the later of two expiries; users[1] in the second for good.
            for user_id, role_id, expires_at in [(users[0], roles[0], EXPIRIES[1]), (users[0], roles[1], EXPIRIES[2]),
                                                 (users[1], roles[2], None)]:
                _grant(conn, user_id, role_id, expires_at)
            command.upgrade(config, "head")
            assert _members(conn) == _expected(conn) and len(_members(conn)) == 2
            command.downgrade(config, "0003")
            command.upgrade(config, "head")
            _grant(conn, users[2], roles[3])
            assert _members(conn) == _expected(conn) and len(_members(conn)) == 3
    finally:
        engine.dispose()
        drop()


def test_a_grant_added_while_another_is_removed_keeps_the_member():
    """PostgreSQL, two transactions at once on one user and app: a grant added (not yet committed)
    while the user's other grant there is removed.  The removal waits for the user's row (the
    triggers lock it), then sees the new grant and keeps the member."""
    url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            _organisation(conn, apps=1, roles=2, users=1)
            user_id = conn.execute(text("SELECT id FROM users")).scalar_one()
            first, second = conn.execute(text("SELECT id FROM roles ORDER BY id")).scalars().all()
            _grant(conn, user_id, first)
        adding = engine.connect()
        adding.begin()
        _grant(adding, user_id, second)  # not committed yet
        removed = threading.Event()

        def remove() -> None:
            with engine.begin() as conn:
                conn.execute(text("DELETE FROM grants WHERE role_id = :r"), {"r": first})
            removed.set()

        remover = threading.Thread(target=remove)
        remover.start()
        assert not removed.wait(0.5), "the removal should wait for the user's row"
        adding.commit()
        adding.close()
        remover.join(10)
        assert removed.is_set()
        with engine.connect() as conn:
            assert _members(conn) == _expected(conn) and len(_members(conn)) == 1
    finally:
        engine.dispose()
        drop()
