"""The migrations build the schema the models describe, on SQLite and on PostgreSQL, from any revision."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from pepyhat.store.db import alembic_config, make_engine, migrate
from pepyhat.store.tables import Base, in_models
from tests.conftest import create_postgres_database, need


@pytest.fixture
def engine(backend, tmp_path):
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'migrated.db'}", (lambda: None)
    else:
        url, drop = create_postgres_database(need("PostgreSQL", "PEPYHAT_TEST_POSTGRES_URL"))
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop()


def _to(engine, revision: str, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_head_is_the_models(engine):
    """What autogenerate would write next is nothing: no column, index, type or server default differs."""
    migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True, "include_name": in_models}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_one_line_of_revisions():
    """One head (migrate's "head" is unambiguous), every revision on the line from 0001."""
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    line = [r.revision for r in script.walk_revisions()]
    assert line[-1] == "0001" and "0002" in line
    assert script.get_revision("0002").down_revision == "0001"


def test_0002_keeps_existing_keys_and_gives_them_forensics(engine):
    _to(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO keys (id, name, kind, hash, start, scopes, capabilities, created_at, created_by, revoked_at)"
                " VALUES ('key_0000000000000001', 'old', 'admin', :hash, 'pha_000000', '[]', '[]', :at, 'test', :at)"
            ),
            {"hash": "0" * 64, "at": datetime(2026, 1, 1, tzinfo=timezone.utc)},
        )
    _to(engine, "head")
    with engine.connect() as conn:
        row = conn.execute(text("SELECT name, last_used_from, refused_since_revoke FROM keys")).one()
    assert tuple(row) == ("old", None, 0)

    _to(engine, "0001", down=True)
    assert {"last_used_from", "refused_since_revoke"}.isdisjoint(c["name"] for c in inspect(engine).get_columns("keys"))
    _to(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, refused_since_revoke FROM keys")).one() == ("old", 0)


def _search_objects(engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            found = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'users_fts%'")).scalars()
        else:
            found = conn.execute(
                text("SELECT indexname FROM pg_indexes WHERE indexname LIKE '%_trgm'"
                     " UNION ALL SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'")
            ).scalars()
        return set(found)


def test_0003_indexes_existing_users_follows_changes_and_downgrades_to_nothing(engine):
    """The trigram index covers the users already there, follows inserts, renames and deletes, and goes."""
    from pepyhat.store.pages import USERS, indexed_search
    from pepyhat.store.db import make_sessionmaker
    from pepyhat.store.tables import User
    from sqlalchemy import select

    _to(engine, "0002")
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO users (email, name, active, created_at, updated_at) VALUES ('old.timer@example.com', 'Old Timer', true, :at, :at)"),
            {"at": at},
        )
    _to(engine, "head")
    assert _search_objects(engine)

    def found(term: str) -> list[str]:
        with make_sessionmaker(engine)() as session:
            return list(session.scalars(select(User.email).where(indexed_search(session, USERS, term)).order_by(User.email)))

    assert found("TIMER") == ["old.timer@example.com"]
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO users (email, name, active, created_at, updated_at) VALUES ('new.comer@example.com', 'Zed', true, :at, :at)"),
            {"at": at},
        )
        conn.execute(text("UPDATE users SET name = 'Quiet Person' WHERE email = 'old.timer@example.com'"))
    assert found("comer") == ["new.comer@example.com"]
    assert found("quiet") == ["old.timer@example.com"]
    assert found("Old Timer") == []
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM users WHERE email = 'new.comer@example.com'"))
    assert found("comer") == []

    _to(engine, "0002", down=True)
    assert _search_objects(engine) == set()
    _to(engine, "head")
    assert found("quiet") == ["old.timer@example.com"]
