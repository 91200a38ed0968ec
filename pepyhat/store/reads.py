"""The data plane's two reads, on the event loop: the key with the asked app, then the user's grants.

One async interface, one implementation per backend:

- SQLite: called inline, on a read-only sqlite3 connection per thread with the
  statements compiled once.  Reads under WAL never wait for writers and cost tens
  of microseconds, less than a hop to a worker thread and back (with 16 clients
  that hop spent most of its time handing the GIL around), and less than
  SQLAlchemy's own execution path around them (measured: bench/README.md).
- PostgreSQL: psycopg's async pool, autocommit (no BEGIN/ROLLBACK round trips),
  statements prepared on first use.  A network wait must not block the loop,
  and a worker thread per request costs as much as the query.

The statements themselves are written once, in ``pepyhat.authz``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import AsyncIterator, NamedTuple, Protocol

from sqlalchemy import Dialect, Engine
from sqlalchemy.sql import Select

from pepyhat import authz


class KeyRow(NamedTuple):
    id: str
    kind: str
    scopes: list
    rate_limit_per_minute: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    app_id: int | None  # of the asked app; None when there is no such app


class Disconnected(Exception):
    """The database connection broke under a read; the read may be retried."""


class ReadSession(Protocol):
    async def key(self, digest: str, app: str) -> KeyRow | None: ...

    async def access(self, app_id: int, email: str, at: datetime) -> authz.Access: ...


class Reads(Protocol):
    def session(self) -> AbstractAsyncContextManager[ReadSession]: ...

    async def close(self) -> None: ...


class _Compiled:
    """A Core statement compiled once for a positional DBAPI driver, with its type processing."""

    def __init__(self, statement: Select, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self._binds = [(name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in compiled.positiontup or ()]
        self._results = [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in statement.selected_columns]

    def parameters(self, values: dict) -> tuple:
        return tuple(values[name] if process is None else process(values[name]) for name, process in self._binds)

    def row(self, raw: tuple) -> tuple:
        return tuple(value if process is None else process(value) for process, value in zip(self._results, raw))


class _SqliteSession:
    def __init__(self, conn: sqlite3.Connection, key: _Compiled, access: _Compiled) -> None:
        self._conn = conn
        self._key = key
        self._access = access

    async def key(self, digest: str, app: str) -> KeyRow | None:
        statement = self._key
        raw = self._conn.execute(statement.sql, statement.parameters({"hash": digest, "slug": app})).fetchone()
        return None if raw is None else KeyRow(*statement.row(raw))

    async def access(self, app_id: int, email: str, at: datetime) -> authz.Access:
        statement = self._access
        rows = self._conn.execute(statement.sql, statement.parameters({"email": email, "app_id": app_id, "at": at}))
        # Raw rows as they are: answer() takes `active` as a truth value (SQLite's 0/1) and
        # the two slugs as text, so the per-row type processing would only cost time.
        return authz.answer(rows.fetchall())


class SqliteReads:
    """SQLite file: one read-only connection per thread (in practice, the event loop's)."""

    def __init__(self, engine: Engine) -> None:
        self._path = engine.url.database
        self._key = _Compiled(authz.KEY_FOR_APP, engine.dialect)
        self._access = _Compiled(authz.USER_ACCESS, engine.dialect)
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

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ReadSession]:
        yield _SqliteSession(self._connection(), self._key, self._access)

    async def close(self) -> None:
        opened, self._opened = self._opened, []
        self._local = threading.local()
        for conn in opened:
            conn.close()


class _SqlAlchemySession:
    def __init__(self, conn) -> None:
        self._conn = conn

    async def key(self, digest: str, app: str) -> KeyRow | None:
        row = self._conn.execute(authz.KEY_FOR_APP, {"hash": digest, "slug": app}).first()
        return None if row is None else KeyRow(*row)

    async def access(self, app_id: int, email: str, at: datetime) -> authz.Access:
        return authz.access(self._conn, app_id, email, at)


class InlineReads:
    """In-memory SQLite (tests): the engine's own pool, used from the event loop."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ReadSession]:
        with self._engine.connect() as conn:
            yield _SqlAlchemySession(conn)

    async def close(self) -> None:
        pass


class _PsycopgSession:
    def __init__(self, conn, statements: dict[str, str], key_rows) -> None:
        self._conn = conn
        self._sql = statements
        self._key_rows = key_rows

    async def key(self, digest: str, app: str) -> KeyRow | None:
        async with self._conn.cursor(row_factory=self._key_rows) as cur:
            await cur.execute(self._sql["key"], {"hash": digest, "slug": app})
            return await cur.fetchone()

    async def access(self, app_id: int, email: str, at: datetime) -> authz.Access:
        cur = await self._conn.execute(self._sql["access"], {"email": email, "app_id": app_id, "at": at})
        return authz.answer(await cur.fetchall())


class PsycopgReads:
    """PostgreSQL: an async pool of autocommit connections, opened on first use."""

    def __init__(self, engine: Engine, max_size: int = 20) -> None:
        # Imported here, once: SQLite deployments (and the dashboard) never load them.
        import psycopg
        from psycopg.rows import args_row

        self._operational_error = psycopg.OperationalError
        self._key_rows = args_row(KeyRow)
        dialect = engine.dialect
        self._statements = {
            "key": str(authz.KEY_FOR_APP.compile(dialect=dialect)),
            "access": str(authz.USER_ACCESS.compile(dialect=dialect)),
        }
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
                    # With the database down, fail the request in seconds rather than
                    # hold the calling app for the pool's default 30.
                    timeout=5.0,
                    open=False,
                )
                await pool.open()
                self._pool = pool
        return self._pool

    @asynccontextmanager
    async def session(self) -> AsyncIterator[ReadSession]:
        pool = self._pool or await self._open()
        conn = None
        try:
            async with pool.connection() as conn:
                yield _PsycopgSession(conn, self._statements, self._key_rows)
        except self._operational_error as exc:
            if conn is None or not conn.broken:
                raise
            # The server closed it (a restart, an idle timeout): its siblings are likely
            # dead too.  Test the idle ones now, so the caller's retry gets a live one.
            await pool.check()
            raise Disconnected(str(exc)) from exc

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
