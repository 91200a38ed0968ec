"""Liveness, readiness and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from pepyhat import schemas
from pepyhat.api.runtime import runtime
from pepyhat.store.db import ping

router = APIRouter(tags=["ops"])


@router.get("/healthz", response_model=schemas.Health)
async def healthz() -> Response:
    """The process is up."""
    return Response(b'{"status":"ok"}', media_type="application/json")


@router.get("/readyz", response_model=schemas.Health, responses={503: {"model": schemas.ErrorEnvelope}})
async def readyz(request: Request) -> JSONResponse:
    """The database answers. The body also says where rate limits are counted.

    A Redis outage leaves the node ready: it falls back to its own limiter.
    """
    rt = runtime(request)
    try:
        await run_in_threadpool(ping, rt.engine)
    except Exception as exc:  # any driver error means not ready
        body = {"error": {"code": "not_ready", "message": f"database unreachable: {type(exc).__name__}", "details": {}}}
        return JSONResponse(body, status_code=503)
    return JSONResponse(schemas.Health(status="ok", limiter=rt.limiter.status).model_dump(exclude_none=True))


@router.get("/metrics", response_class=Response)
async def prometheus() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
