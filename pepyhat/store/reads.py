"""The data plane's read, on the event loop: one statement per request (``store.access.ANSWER``).

One async interface, one implementation per backend:

- SQLite file: called inline, on a read-only sqlite3 connection per thread with
  the statement compiled once.  Reads under WAL never wait for writers and cost
  tens of microseconds: less than a hop to a worker thread and back (with 16
  clients that hop spent most of its time handing the GIL around), and less than
  SQLAlchemy's own execution path around them (bench/README.md).
- PostgreSQL: asyncpg, on a few connections of its own, each with the statement
  prepared once, handed out from a free list (no pool machinery, no reset round
  trip on release).  A network wait must not block the loop; psycopg's async
  path cost 4-5x the CPU per query (two loop wake-ups per query), its sync pool
  in threads more, its pipeline mode 3x, asyncpg's own pool 2-3x
  (bench/authz_drivers.py, figures in bench/README.md).  No caching: every
  request reads the key and the grants as committed (a revocation counts on the
  next request).
- In-memory SQLite (no file another connection could open): SQLAlchemy, inline.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
from collections import deque
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


STATEMENT = "pepyhat_answer"  # the data plane's prepared statement, on each of its connections


class _Held(NamedTuple):
    conn: object  # asyncpg.Connection
    statement: object  # its PreparedStatement of ANSWER


class AsyncpgReads:
    """PostgreSQL: up to ``size`` asyncpg connections, opened as concurrency needs them."""

    def __init__(self, engine: Engine, size: int = 16) -> None:
        # Imported here: SQLite deployments (and the dashboard) never load asyncpg.
        from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

        compiled = ANSWER.compile(dialect=PGDialect_asyncpg(paramstyle="numeric_dollar"))
        self._sql = str(compiled)
        self._order = tuple(compiled.positiontup)  # the names of $1, $2, ...
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._size = size
        self._free: list[_Held] = []
        self._waiting: deque[asyncio.Future] = deque()
        self._opened = 0
        self._loop = None

    async def _open(self) -> _Held:
        import asyncpg

        self._opened += 1
        try:
            # With the database down, fail the request in seconds rather than hold the calling app.
            # A generic plan: every parameter is an equality on a unique key, where planning for
            # the values cannot do better, and planning the seven-table join costs ~500 us.
            conn = await asyncpg.connect(
                self._dsn, timeout=5.0, statement_cache_size=0,
                server_settings={"plan_cache_mode": "force_generic_plan"},
            )
            try:
                # Named: without a cache asyncpg prepares the unnamed statement, which PostgreSQL
                # plans again at every execution (backend CPU per answer 580 us; named, 75).
                return _Held(conn, await conn.prepare(self._sql, name=STATEMENT))
            except BaseException:
                conn.terminate()
                raise
        except BaseException:
            self._opened -= 1
            raise

    async def _take(self) -> _Held:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests): the old one's connections are unusable there
            self._forget()
            self._loop = loop
        if self._free:
            return self._free.pop()
        if self._opened < self._size:
            return await self._open()
        waiter = loop.create_future()
        self._waiting.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give(waiter.result())  # handed over as we were cancelled: pass it on
            raise

    def _give(self, held: _Held) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a waiter cancelled meanwhile is skipped
                waiter.set_result(held)
                return
        self._free.append(held)

    def _drop(self, held: _Held) -> None:
        self._opened -= 1
        _terminate(held)
        if self._waiting:  # someone waits for a connection: open one in the dropped one's place
            asyncio.ensure_future(self._replace())

    async def _replace(self) -> None:
        try:
            held = await self._open()
        except Exception as exc:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_exception(exc)
                    return
            return
        self._give(held)

    def _forget(self) -> None:
        for held in self._free:
            _terminate(held)
        self._opened -= len(self._free)
        self._free = []

    async def find(self, digest: str, app: str, email: str, at: datetime) -> Found:
        values = {"hash": digest, "slug": app, "email": email, "at": at}
        held = await self._take()
        try:
            rows = await held.statement.fetch(*[values[name] for name in self._order])
        except BaseException as exc:
            if not held.conn.is_closed():
                self._give(held)
                raise
            # The server closed it (a restart, an idle timeout): its idle siblings are likely
            # dead too.  Drop them all, so the caller's retry opens a live one.
            self._drop(held)
            self._forget()
            raise Disconnected(str(exc)) from exc
        self._give(held)
        return _found(rows, self._key)

    @staticmethod
    def _key(columns) -> KeyRow:
        key = KeyRow._make(columns)
        return key._replace(scopes=json.loads(key.scopes))  # asyncpg hands JSON over as text

    async def close(self) -> None:
        free, self._free = self._free, []
        self._opened -= len(free)
        for held in free:
            await held.conn.close()


def _terminate(held: _Held) -> None:
    try:
        held.conn.terminate()
    except Exception:  # its event loop is gone, or it is already closed: nothing left to free
        pass


def default_connections() -> int:
    """Twice the cores, at most 16: more backends than that queue for the CPU, not for rows
    (on 2 cores, 16 connections gave a p99 of 82 ms at 2,830 req/s, 4 gave 8 ms at 2,630)."""
    return min(16, 2 * (os.cpu_count() or 1))


def make_reads(engine: Engine, connections: int | None = None) -> Reads:
    if engine.dialect.name == "postgresql":
        return AsyncpgReads(engine, connections or default_connections())
    if engine.url.database and engine.url.database != ":memory:":
        return SqliteReads(engine)
    return InlineReads(engine)
