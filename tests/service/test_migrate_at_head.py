"""A start on a schema at head reads ``alembic_version`` and never loads Alembic; behind head, it migrates."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from pepyhat.store.db import alembic_config, head_revisions, make_engine, migrate, schema_revisions
from tests.conftest import fresh_database


@pytest.fixture
def database_url(backend, tmp_path):
    with fresh_database(backend, tmp_path / "start.db") as url:
        yield url


def test_the_heads_read_from_the_files_are_alembics():
    assert head_revisions() == frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


# migrate() in a fresh process: did it load Alembic, and where is the schema after?
START = """
import json, sys
from pepyhat.store.db import make_engine, migrate, schema_revisions
engine = make_engine(sys.argv[1])
migrate(engine)
print(json.dumps({"alembic": "alembic" in sys.modules, "at": sorted(schema_revisions(engine))}))
engine.dispose()
"""


def start(url: str) -> dict:
    result = subprocess.run([sys.executable, "-c", START, url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_start_at_head_does_not_load_alembic(database_url):
    head = sorted(head_revisions())
    assert start(database_url) == {"alembic": True, "at": head}  # fresh: migrated (and the probe sees Alembic)
    assert start(database_url) == {"alembic": False, "at": head}  # at head: only alembic_version was read


def test_a_schema_behind_head_is_migrated(database_url):
    engine = make_engine(database_url)
    try:
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
        assert schema_revisions(engine) == {"0001"}
        migrate(engine)
        assert schema_revisions(engine) == head_revisions()
        columns = {c["name"] for c in inspect(engine).get_columns("keys")}
        assert "refused_since_revoke" in columns  # 0002 ran
    finally:
        engine.dispose()
