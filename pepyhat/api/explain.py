"""Explain: the data plane's answer plus the grants behind every permission."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized
from pepyhat.api.runtime import SessionDep
from pepyhat.service import access
from pepyhat.service.actor import Actor

router = APIRouter(prefix="/api/v1/explain", tags=["explain"])


@router.get("/{email}", response_model=schemas.ExplainResponse)
def explain(
    email: str,
    app: str = Query(..., max_length=63, description="App slug"),
    session: Session = SessionDep,
    actor: Actor = Authorized,
):
    return access.explain(session, app, email)
