"""Members of an app: users with their grants there, and granting or removing roles."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized, InRequest
from pepyhat.api.pagination import Cursor, Limit, Search
from pepyhat.api.runtime import SessionDep
from pepyhat.service import members
from pepyhat.service.actor import Actor, Context

router = APIRouter(prefix="/api/v1/apps/{slug}/members", tags=["members"])


@router.get("", response_model=schemas.Page[schemas.Member])
def list_members(
    slug: str,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    q: str | None = Search,
    role: str | None = Query(None, max_length=63, description="Only users holding this role (live grants)"),
    permission: str | None = Query(None, max_length=128, description="Only users granted this permission (live grants)"),
    everyone: bool = Query(False, description="Every user, those without a role in the app too (no grants)"),
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    return members.list_members(
        session, actor, slug, q=q, role=role, permission=permission, limit=limit, cursor=cursor, everyone=everyone
    )


@router.put("/{email}/roles/{role}", response_model=schemas.Grant)
def put_grant(
    slug: str,
    email: str,
    role: str,
    body: schemas.GrantPut | None = None,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    return members.put_grant(session, actor, context, slug, email, role, body)


@router.delete("/{email}/roles/{role}", status_code=204)
def delete_grant(
    slug: str,
    email: str,
    role: str,
    session: Session = SessionDep,
    actor: Actor = Authorized,
    context: Context = InRequest,
):
    members.delete_grant(session, actor, context, slug, email, role)
    return Response(status_code=204)
