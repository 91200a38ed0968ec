"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager, suppress

from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from pepyhat import __version__
from pepyhat.audit import prune
from pepyhat.api import (
    apps, audit as audit_routes, dataplane, errors, explain, keys, members, ops, permissions, review, roles, scopes, users,
)
from pepyhat.api import openapi
from pepyhat.api.query import refuse_hostile_text
from pepyhat.api.auth import authorize
from pepyhat.api.middleware import RequestContext
from pepyhat.api.policy import POLICY
from pepyhat.api.runtime import Runtime
from pepyhat.config import Settings
from pepyhat.ratelimit import make_limiter
from pepyhat.store.db import make_engine, make_sessionmaker, migrate
from pepyhat.store.reads import make_reads
from pepyhat.usage import UsageTracker

log = logging.getLogger("pepyhat.service")
PRUNE_EVERY = 3600.0
ADMIN_ROUTERS = (
    apps.router, permissions.router, roles.router, members.router, review.router, users.router, keys.router, scopes.router,
    explain.router, audit_routes.router,
)


def _depends_on(dependant, call) -> bool:
    return any(dep.call is call or _depends_on(dep, call) for dep in dependant.dependencies)


def admin_routes() -> list[APIRoute]:
    return [r for router in ADMIN_ROUTERS for r in router.routes if isinstance(r, APIRoute)]


def check_policy() -> None:
    """Every admin route has a rule and enforces it; every rule has a route."""
    admin = admin_routes()
    names = {r.name for r in admin}
    unguarded = [r.name for r in admin if r.name not in POLICY or not _depends_on(r.dependant, authorize)]
    orphans = sorted(set(POLICY) - names)
    if unguarded or orphans:
        raise RuntimeError(f"policy mismatch: unguarded routes {unguarded}, rules without routes {orphans}")


async def _housekeeping(rt: Runtime) -> None:
    """Flush batched last_used_at now and then; prune the audit trail hourly."""
    since_prune = PRUNE_EVERY
    while True:
        await asyncio.sleep(rt.settings.usage_flush_seconds)
        since_prune += rt.settings.usage_flush_seconds
        try:
            await run_in_threadpool(rt.usage.flush)
            if since_prune >= PRUNE_EVERY:
                since_prune = 0.0
                await run_in_threadpool(prune, rt.engine, rt.settings.audit_retention_days)
        except Exception:
            log.exception("housekeeping failed; will retry")


def create_app(settings: Settings | None = None, *, run_migrations: bool = False) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    if run_migrations:
        migrate(engine)
    rt = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        limiter=make_limiter(settings.redis_url),
        usage=UsageTracker(engine),
        reads=make_reads(engine, settings.dataplane_connections),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        task = asyncio.create_task(_housekeeping(rt))
        try:
            yield
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
            with suppress(Exception):
                await run_in_threadpool(rt.usage.flush)
            rt.limiter.close()
            await rt.reads.close()
            engine.dispose()

    app = FastAPI(
        title="Pepy Hat",
        version=__version__,
        description="Centralized authorization for internal apps.",
        lifespan=lifespan,
        dependencies=[Depends(refuse_hostile_text)],
    )
    app.state.runtime = rt
    errors.install(app)
    app.add_middleware(RequestContext)
    openapi.install(app, (ops.router, dataplane.router, *ADMIN_ROUTERS))
    app.include_router(ops.router)
    app.include_router(dataplane.router)
    for router in ADMIN_ROUTERS:
        app.include_router(router)
    check_policy()
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (what ``pepyhat serve`` runs in each worker)."""
    from pepyhat import logs

    settings = Settings()
    logs.configure(settings.log_level)
    return create_app(settings)
