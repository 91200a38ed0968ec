"""The data plane's read, on the event loop: one statement per request (``store.access.ANSWER``).

One async interface, one implementation per backend:

- SQLite file: called inline, on a read-only sqlite3 connection per thread with
  the statement compiled once.  Reads under WAL never wait for writers and cost
  tens of microseconds: less than a hop to a worker thread and back (with 16
  clients that hop spent most of its time handing the GIL around), and less than
  SQLAlchemy's own execution path around them (bench/README.md).
- PostgreSQL: psycopg's async pool, autocommit (no BEGIN/ROLLBACK round trips),
  the statement prepared on first use.  A network wait must not block the loop,
  and a worker thread per request costs as much as the query.
- In-memory SQLite (no file another connection could open): SQLAlchemy, inline.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from datetime import datetime
from typing import NamedTuple, Protocol

from sqlalchemy import Dialect, Engine
from sqlalchemy.sql import Select

from pepyhat import authz
from pepyhat.store.access import ANSWER, KEY_COLUMNS


class KeyRow(NamedTuple):
    id: str
    kind: str
    scopes: list
    rate_limit_per_minute: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    app_id: int | None  # of the asked app; None when there is no such app


class Found(NamedTuple):
    key: KeyRow | None  # None: no key has this hash
    access: authz.Access  # the user's answer in the asked app (no roles when there is no such app)


class Disconnected(Exception):
    """The database connection broke under the read; the read may be retried."""


class Reads(Protocol):
    async def find(self, digest: str, app: str, email: str, at: datetime) -> Found: ...

    async def close(self) -> None: ...


def _found(rows, key=KeyRow._make) -> Found:
    """What ``ANSWER`` returned; ``key`` builds the KeyRow from the first row's key columns."""
    if not rows:
        return Found(None, authz.NOT_FOUND)
    return Found(key(rows[0][:KEY_COLUMNS]), authz.answer([row[KEY_COLUMNS:] for row in rows]))


class _Compiled:
    """A Core statement compiled once for a positional DBAPI driver, with its type processing."""

    def __init__(self, statement: Select, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._binds = [
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup or ()
        ]
        self._results = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in statement.selected_columns
        ]

    def parameters(self, values: dict) -> tuple:
        return tuple(values[name] if process is None else process(values[name]) for name, process in self._binds)

    def row(self, raw: tuple) -> tuple:
        return tuple(value if process is None else process(value) for process, value in zip(self._results, raw))


class SqliteReads:
    """SQLite file: one read-only connection per thread (in practice, the event loop's)."""

    def __init__(self, engine: Engine) -> None:
        self._path = engine.url.database
        self._answer = _Compiled(ANSWER, engine.dialect)
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit: each read sees every write committed before it (a revoked key is
            # refused on the next request), and no transaction is left open between requests.
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            self._opened.append(conn)
        return conn

    async def find(self, digest: str, app: str, email: str, at: datetime) -> Found:
        statement = self._answer
        parameters = statement.parameters({"hash": digest, "slug": app, "email": email, "at": at})
        rows = self._connection().execute(statement.sql, parameters).fetchall()
        # Only the key's columns need converting (JSON, timestamps); the access columns
        # are read as they come: `active` as a truth value (0/1/NULL), the slugs as text.
        return _found(rows, lambda columns: KeyRow._make(statement.row(columns)))

    async def close(self) -> None:
        opened, self._opened = self._opened, []
        self._local = threading.local()
        for conn in opened:
            conn.close()


class InlineReads:
    """In-memory SQLite (tests, experiments): the engine's own pool, used from the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def find(self, digest: str, app: str, email: str, at: datetime) -> Found:
        with self._engine.connect() as conn:
            rows = conn.execute(ANSWER, {"hash": digest, "slug": app, "email": email, "at": at}).all()
        return _found(rows)

    async def close(self) -> None:
        pass


class PsycopgReads:
    """PostgreSQL: an async pool of autocommit connections, opened on first use."""

    def __init__(self, engine: Engine, max_size: int = 20) -> None:
        # Imported here, once: SQLite deployments (and the dashboard) never load them.
        import psycopg

        self._operational_error = psycopg.OperationalError
        self._sql = str(ANSWER.compile(dialect=engine.dialect))
        self._conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._max_size = max_size
        self._pool = None
        self._opening = asyncio.Lock()

    async def _open(self):
        from psycopg_pool import AsyncConnectionPool

        async with self._opening:
            if self._pool is None:
                pool = AsyncConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._max_size,
                    kwargs={"autocommit": True, "prepare_threshold": 1},
                    configure=self._configure,
                    # With the database down, fail the request in seconds rather than
                    # hold the calling app for the pool's default 30.
                    timeout=5.0,
                    open=False,
                )
                await pool.open()
                self._pool = pool
        return self._pool

    @staticmethod
    async def _configure(conn) -> None:
        # The key's scopes come back on every row of the answer: take them as text and
        # decode the first row's alone (decoding each row's cost a third of the read).
        from psycopg.types.string import TextLoader

        conn.adapters.register_loader("json", TextLoader)

    async def find(self, digest: str, app: str, email: str, at: datetime) -> Found:
        pool = self._pool or await self._open()
        conn = None
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(self._sql, {"hash": digest, "slug": app, "email": email, "at": at})
                rows = await cur.fetchall()
        except self._operational_error as exc:
            if conn is None or not conn.broken:
                raise
            # The server closed it (a restart, an idle timeout): its siblings are likely
            # dead too.  Test the idle ones now, so the caller's retry gets a live one.
            await pool.check()
            raise Disconnected(str(exc)) from exc
        return _found(rows, self._key)

    @staticmethod
    def _key(columns) -> KeyRow:
        key = KeyRow._make(columns)
        return key._replace(scopes=json.loads(key.scopes))  # taken as text: see _configure

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def make_reads(engine: Engine) -> Reads:
    if engine.dialect.name == "postgresql":
        return PsycopgReads(engine)
    if engine.url.database and engine.url.database != ":memory:":
        return SqliteReads(engine)
    return InlineReads(engine)
