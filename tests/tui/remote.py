"""A real service over TCP for dashboard tests: uvicorn on a SQLite file, and tokens minted into its store."""

from __future__ import annotations

from pathlib import Path

from pepyhat.api import create_app
from pepyhat.config import Settings
from pepyhat.schemas import CAPABILITIES
from pepyhat.store import queries
from pepyhat.store.db import make_sessionmaker, transaction
from tests.servers import ServerThread


def sqlite_server(database: Path, port: int) -> ServerThread:
    """The service on a SQLite file, on a chosen port (a restart reuses it)."""
    settings = Settings(database_url=f"sqlite:///{database}", redis_url=None, usage_flush_seconds=0.2)
    return ServerThread(create_app(settings, run_migrations=True), port)


def mint(engine, name: str = "ops") -> tuple[str, str]:
    """A superadmin token, straight into the store (as ``pepyhat init`` would): (id, plaintext)."""
    with transaction(make_sessionmaker(engine)) as session:
        row, plaintext = queries.create_key(
            session, name=name, kind="admin", app=None, scopes=[{"path": "**", "operations": ["*"]}],
            capabilities=list(CAPABILITIES), rate_limit_per_minute=None, expires_at=None, created_by="tests",
        )
        return row.id, plaintext
