"""An app's access review: users x roles x permissions, in one answer."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from pepyhat import schemas
from pepyhat.api.auth import Authorized
from pepyhat.api.runtime import SessionDep
from pepyhat.service import review
from pepyhat.service.actor import Actor

router = APIRouter(prefix="/api/v1/apps/{slug}/access-review", tags=["members"])


@router.get("", response_model=schemas.AccessReview)
def access_review(slug: str, session: Session = SessionDep, actor: Actor = Authorized):
    return review.access_review(session, actor, slug)
