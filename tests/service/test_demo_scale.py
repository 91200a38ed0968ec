"""demo-data's scale options: crm's member count and the number of keys, deterministic by seed."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from pepyhat import demo
from pepyhat.store.db import make_engine, migrate
from pepyhat.store.tables import Grant, Key, Role, User

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)


def _load(path, **options):
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    summary = demo.generate(engine, users=400, apps=3, seed=3, now=NOW, **options)
    with engine.connect() as conn:
        crm = conn.execute(
            select(func.count(func.distinct(Grant.user_id))).join(Role, Role.id == Grant.role_id).where(Role.app_id == 1)
        ).scalar_one()
        key_names = conn.execute(select(Key.name).order_by(Key.id)).scalars().all()
        users = conn.execute(select(User.email).order_by(User.id)).scalars().all()
        grants = conn.execute(select(Grant.user_id, Grant.role_id).order_by(Grant.user_id, Grant.role_id)).all()
    engine.dispose()
    return summary, crm, key_names, users, grants


def test_members_and_keys_are_as_asked_and_deterministic(tmp_path):
    plain = _load(tmp_path / "plain.db")
    for wanted in (5, 350):  # fewer than the demo gives crm, and more
        one = _load(tmp_path / f"one{wanted}.db", key_count=60, crm_members=wanted)
        two = _load(tmp_path / f"two{wanted}.db", key_count=60, crm_members=wanted)
        summary, crm, key_names, users, _ = one
        assert crm == wanted
        assert summary.keys == len(key_names) == 60
        assert len(set(key_names)) == 60
        assert one == two
        assert users == plain[3]  # the users themselves do not change


def test_fewer_keys_than_the_demo_has_keeps_the_demo_keys(tmp_path):
    plain = _load(tmp_path / "plain.db")
    few = _load(tmp_path / "few.db", key_count=1)
    assert few[2] == plain[2]


def test_too_many_members_is_refused(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    migrate(engine)
    try:
        demo.generate(engine, users=3, crm_members=4)
    except ValueError as exc:
        assert "--members" in str(exc)
    else:
        raise AssertionError("accepted more crm members than users")
    engine.dispose()


def test_a_bulk_load_leaves_the_app_members_whole_and_postgresql_analyzed(tmp_path):
    """SQLite builds app_members once after the load (its insert trigger suspended, then back);
    PostgreSQL has the planner's statistics at once (without them a rare search scanned 100k users)."""
    from sqlalchemy import text

    from tests.conftest import create_postgres_database, need
    from tests.service.test_app_members import _expected, _members

    url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    for database in (f"sqlite:///{tmp_path / 'members.db'}", url):
        engine = make_engine(database)
        try:
            migrate(engine)
            demo.generate(engine, users=300, apps=3, seed=3, now=NOW)
            with engine.begin() as conn:
                # Each member once, with the latest expiry of their grants there (the demo has expiring ones).
                assert _members(conn) == _expected(conn)
                assert conn.execute(text("SELECT count(*) FROM app_members WHERE live_until IS NOT NULL")).scalar_one() > 0
                user = conn.execute(text("SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM grants) LIMIT 1")).scalar_one()
                conn.execute(text("INSERT INTO grants (user_id, role_id, granted_by, granted_at) VALUES (:u, 1, 't', :at)"),
                             {"u": user, "at": NOW})  # the trigger is back
                assert conn.execute(text("SELECT count(*) FROM app_members WHERE user_id = :u"), {"u": user}).scalar_one() == 1
                if engine.dialect.name == "postgresql":
                    analyzed = conn.execute(text(
                        "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('users', 'grants', 'app_members')"
                        " AND last_analyze IS NOT NULL"
                    )).scalar_one()
                    assert analyzed == 3
        finally:
            engine.dispose()
    drop()
