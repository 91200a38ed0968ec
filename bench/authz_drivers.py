"""The data plane's PostgreSQL read, driver by driver: which path costs the event loop least.

One process, one event loop, ``--tasks`` (default 16, wrk's connections)
concurrent tasks each running the data plane's statement (``store.access.ANSWER``)
for a real key, app and member, as ``pepyhat.store.reads`` would.  Per variant:
queries per second and the process's CPU per query (the database server's own
CPU is not counted: it runs on the other core and is the same for all).
Variants, alternating (A B C ... then reversed) so machine noise hits all alike:

- ``psycopg``: psycopg's async pool, autocommit, prepared on first use (before issue 11)
- ``psycopg_pipeline``: one async psycopg connection in pipeline mode shared by the tasks
- ``psycopg_threads``: psycopg's sync pool, each read in a worker thread
- ``asyncpg``: asyncpg's pool (``fetch``: its statement cache prepares once per connection)
- ``asyncpg_noreset``: the same without the pool's reset on release (a round trip)
- ``asyncpg_few``: ``--connections`` (16) asyncpg connections, the statement prepared on each, a free list
- ``asyncpg_pinned``: one asyncpg connection with the statement prepared once, a lock around it

    python bench/authz_drivers.py --db postgresql+psycopg://postgres@127.0.0.1:5432/somedb [--seconds 4] [--rounds 2]

The database must hold data (``pepyhat init``, ``pepyhat demo-data``) and an app key
for ``crm``: the script adds one straight into the store.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
from datetime import datetime, timezone

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from pepyhat import keys
from pepyhat.store.access import ANSWER
from pepyhat.store.db import make_engine
from pepyhat.store.tables import App, Grant, Key, Role, User


def fixture(url: str) -> tuple[str, str, str]:
    """(digest, app, email): a fresh app key of crm and an active member of crm with grants."""
    engine = make_engine(url)
    plaintext = keys.mint("app")
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        app_id = conn.execute(select(App.id).where(App.slug == "crm")).scalar_one()
        email = conn.execute(
            select(User.email).join(Grant, Grant.user_id == User.id).join(Role, Role.id == Grant.role_id)
            .where(Role.app_id == app_id, User.active.is_(True)).limit(1)
        ).scalar_one()
        conn.execute(insert(Key).values(
            id=keys.new_id(), name="drivers-bench", kind="app", app_id=app_id, app_slug="crm",
            hash=keys.digest(plaintext), start=keys.start_of(plaintext),
            scopes=[{"path": "apps/crm/authz/**", "operations": ["read"]}], capabilities=[],
            rate_limit_per_minute=None, created_at=now, created_by="bench",
        ))
    engine.dispose()
    return keys.digest(plaintext), "crm", email


class Variant:
    name = ""

    async def open(self, conninfo: str) -> None: ...

    async def find(self, params: dict) -> list: ...

    async def close(self) -> None: ...


class Psycopg(Variant):
    name = "psycopg"

    def __init__(self, sql: str) -> None:
        self.sql = sql

    async def open(self, conninfo):
        from psycopg_pool import AsyncConnectionPool

        self.pool = AsyncConnectionPool(conninfo, min_size=4, max_size=20, open=False,
                                        kwargs={"autocommit": True, "prepare_threshold": 1})
        await self.pool.open()

    async def find(self, params):
        async with self.pool.connection() as conn:
            cur = await conn.execute(self.sql, params)
            return await cur.fetchall()

    async def close(self):
        await self.pool.close()


class PsycopgPipeline(Psycopg):
    name = "psycopg_pipeline"

    async def open(self, conninfo):
        import psycopg

        self.conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True, prepare_threshold=1)
        self._pipeline = self.conn.pipeline()
        await self._pipeline.__aenter__()

    async def find(self, params):
        cur = self.conn.cursor()
        await cur.execute(self.sql, params)
        return await cur.fetchall()  # fetchall syncs the pipeline: what was queued meanwhile goes too

    async def close(self):
        await self._pipeline.__aexit__(None, None, None)
        await self.conn.close()


class PsycopgThreads(Psycopg):
    name = "psycopg_threads"

    async def open(self, conninfo):
        from psycopg_pool import ConnectionPool

        self.pool = ConnectionPool(conninfo, min_size=4, max_size=20, open=True,
                                   kwargs={"autocommit": True, "prepare_threshold": 1})

    def _find(self, params):
        with self.pool.connection() as conn:
            return conn.execute(self.sql, params).fetchall()

    async def find(self, params):
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(self._find, params)

    async def close(self):
        self.pool.close()


class Asyncpg(Variant):
    name = "asyncpg"

    def __init__(self, sql: str, order: list[str]) -> None:
        self.sql, self.order = sql, order

    async def open(self, conninfo):
        import asyncpg

        self.pool = await asyncpg.create_pool(conninfo, min_size=4, max_size=20)

    async def find(self, params):
        return await self.pool.fetch(self.sql, *(params[n] for n in self.order))

    async def close(self):
        await self.pool.close()


class AsyncpgNoReset(Asyncpg):
    name = "asyncpg_noreset"

    async def open(self, conninfo):
        import asyncpg

        async def keep(conn):  # the pool's default reset is one more round trip per release
            pass

        self.pool = await asyncpg.create_pool(conninfo, min_size=4, max_size=20, reset=keep)


class AsyncpgFew(Asyncpg):
    name = "asyncpg_few"
    size = 16  # --connections

    async def open(self, conninfo):
        import asyncpg

        self.free = []
        for _ in range(self.size):
            conn = await asyncpg.connect(conninfo)
            self.free.append((conn, await conn.prepare(self.sql)))
        self.waiters = asyncio.Queue()
        self.all = [c for c, _ in self.free]

    async def find(self, params):
        if self.free:
            held = self.free.pop()
        else:
            held = await self.waiters.get()
        try:
            return await held[1].fetch(*(params[n] for n in self.order))
        finally:
            if self.waiters._getters:
                self.waiters.put_nowait(held)
            else:
                self.free.append(held)

    async def close(self):
        for c in self.all:
            await c.close()


class AsyncpgPinned(Asyncpg):
    name = "asyncpg_pinned"

    async def open(self, conninfo):
        import asyncpg

        self.conn = await asyncpg.connect(conninfo)
        self.statement = await self.conn.prepare(self.sql)
        self.lock = asyncio.Lock()

    async def find(self, params):
        async with self.lock:
            return await self.statement.fetch(*(params[n] for n in self.order))

    async def close(self):
        await self.conn.close()


async def measure(variant: Variant, params: dict, tasks: int, seconds: float) -> tuple[float, float]:
    stop = time.perf_counter() + seconds
    done = 0

    async def worker():
        nonlocal done
        while time.perf_counter() < stop:
            rows = await variant.find(params)
            assert rows, "the key was not found"
            done += 1

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(tasks)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return done / wall, cpu / done * 1e6


async def main_async(args) -> int:
    AsyncpgFew.size = args.connections
    digest, app, email = fixture(args.db)
    engine = make_engine(args.db)
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    psycopg_sql = str(ANSWER.compile(dialect=engine.dialect))
    compiled = ANSWER.compile(dialect=PGDialect_asyncpg(paramstyle="numeric_dollar"))
    order = list(compiled.positiontup)
    engine.dispose()
    params = {"hash": digest, "slug": app, "email": email, "at": datetime.now(timezone.utc)}
    variants = [Psycopg(psycopg_sql), PsycopgPipeline(psycopg_sql), PsycopgThreads(psycopg_sql),
                Asyncpg(str(compiled), order), AsyncpgNoReset(str(compiled), order), AsyncpgFew(str(compiled), order),
                AsyncpgPinned(str(compiled), order)]
    if args.only:
        variants = [v for v in variants if v.name in args.only.split(",")]
    for v in variants:
        await v.open(conninfo)
        await measure(v, params, args.tasks, 0.5)  # warm: connections, prepared statements
    figures: dict[str, list[tuple[float, float]]] = {v.name: [] for v in variants}
    for round_ in range(args.rounds):
        for v in variants if round_ % 2 == 0 else reversed(variants):
            qps, cpu = await measure(v, params, args.tasks, args.seconds)
            figures[v.name].append((qps, cpu))
            print(f"round {round_ + 1} {v.name:17s} {qps:7.0f} queries/s  {cpu:5.0f} us CPU/query", file=sys.stderr)
    for v in variants:
        await v.close()
    base = statistics.median(q for q, _ in figures["psycopg"]) if "psycopg" in figures else None
    print(f"{args.tasks} concurrent tasks, {args.rounds} rounds of {args.seconds:g} s, medians; threads now {threading.active_count()}")
    for name, values in figures.items():
        qps, cpu = statistics.median(q for q, _ in values), statistics.median(c for _, c in values)
        vs = f"  {qps / base:.2f}x psycopg" if base else ""
        print(f"{name:17s} {qps:7.0f} queries/s  {cpu:5.0f} us CPU/query{vs}")
    best = max(figures, key=lambda n: statistics.median(q for q, _ in figures[n]))
    print(f"RESULT authz_drivers best={best} target=fastest PASS")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a PostgreSQL URL of a database with demo data")
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16, help="asyncpg_few's connections")
    parser.add_argument("--only", default="", help="comma-separated variant names")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
