"""Explain: the data plane's answer plus the grants behind every permission."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import authz, schemas
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.runtime import SessionDep
from pepyhat.store import queries

router = APIRouter(prefix="/api/v1/explain", tags=["explain"])


@router.get("/{email}", response_model=schemas.ExplainResponse)
def explain(
    email: str,
    app: str = Query(..., max_length=63, description="App slug"),
    session: Session = SessionDep,
    principal: Principal = Authorized,
):
    row = queries.app_or_404(session, app)
    return authz.explain(session.connection(), row.slug, row.id, email.lower(), queries.now())
