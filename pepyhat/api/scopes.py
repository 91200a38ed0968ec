"""Scopes: the example resources a scope path matches (the dashboard's scope editor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized
from pepyhat.api.runtime import SessionDep
from pepyhat.service import examples
from pepyhat.service.actor import Actor

router = APIRouter(prefix="/api/v1/scopes", tags=["scopes"])


@router.get("/examples", response_model=schemas.ScopeExamples)
def scope_examples(
    # In Annotated, with the Query: as a default, the Query would drop ScopePath's validation.
    path: Annotated[schemas.ScopePath, Query(description="A scope path, as in a key's scopes (apps/crm/**)")],
    limit: int = Query(5, ge=1, le=50, description="Examples at most (max 50)"),
    session: Session = SessionDep,
    actor: Actor = Authorized,
):
    """Real resource paths the scope path matches, among those this token may read. Fast enough to call per keystroke."""
    return examples.scope_examples(session, actor, path, limit)
