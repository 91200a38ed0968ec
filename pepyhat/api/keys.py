"""Keys: app keys (``phk_``, data plane) and admin tokens (``pha_``, admin API)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api import convertors  # noqa: F401  (registers {key_id:key_id})
from pepyhat.api.auth import Authorized, InRequest
from pepyhat.api.pagination import Cursor, Limit, Search
from pepyhat.api.runtime import SessionDep
from pepyhat.service import keys
from pepyhat.service.actor import Actor, Context

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


@router.get("", response_model=schemas.Page[schemas.Key])
def list_keys(
    session: Session = SessionDep,
    actor: Actor = Authorized,
    app: str | None = Query(None, max_length=63),
    kind: schemas.KeyKind | None = None,
    status: schemas.KeyStatus | None = None,
    q: str | None = Search,
    expires_within: schemas.Span | None = Query(
        None, description="Only active keys that expire within this span from now (7d: expiring soon)", examples=["7d"]
    ),
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    return keys.list_keys(
        session, actor, app=app, kind=kind, status=status, q=q, expires_within=expires_within, limit=limit, cursor=cursor
    )


@router.post("", status_code=201, response_model=schemas.KeyCreated)
def create_key(
    body: schemas.KeyCreate, session: Session = SessionDep, actor: Actor = Authorized, context: Context = InRequest
):
    return keys.create_key(session, actor, context, body)


@router.post("/lookup", response_model=schemas.Page[schemas.Key])
def lookup_key(
    body: schemas.KeyLookup, session: Session = SessionDep, actor: Actor = Authorized, context: Context = InRequest
):
    """Identify a leaked key from its plaintext or its start. The secret travels only in this body."""
    return keys.lookup_key(session, actor, context, body)


@router.get("/{key_id:key_id}", response_model=schemas.Key)
def get_key(key_id: str, session: Session = SessionDep, actor: Actor = Authorized):
    return keys.get_key(session, key_id)


@router.patch("/{key_id:key_id}", response_model=schemas.Key)
def update_key(
    key_id: str,
    body: schemas.KeyUpdate,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    return keys.update_key(session, actor, context, key_id, body)


@router.delete("/{key_id:key_id}", response_model=schemas.Key)
def delete_key(
    key_id: str,
    reason: str | None = Query(None, max_length=500, description="Why, for the record"),
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    """Revoke. The record stays; every node refuses the key from the next request on."""
    return keys.revoke_key(session, actor, context, key_id, reason)


@router.post("/{key_id:key_id}/rotate", status_code=201, response_model=schemas.KeyRotated)
def rotate_key(
    key_id: str,
    body: schemas.KeyRotate | None = None,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    """Mint a successor with the same settings; the old key lives on for ``grace`` at most."""
    return keys.rotate_key(session, actor, context, key_id, body)
