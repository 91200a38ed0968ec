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
