"""Apps: the internal applications Pepy Hat authorizes for."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from pepyhat import audit, schemas
from pepyhat.api.auth import Authorized, Principal
from pepyhat.api.pagination import Cursor, Limit, Search, like, paginate
from pepyhat.api.runtime import SessionDep
from pepyhat.errors import ApiError, conflict
from pepyhat.store import queries
from pepyhat.store.tables import App, Key

router = APIRouter(prefix="/api/v1/apps", tags=["apps"])


def app_view(session: Session, app: App) -> schemas.App:
    roles, members, keys = queries.app_counts(session, [app.id])[app.id]
    return _view(app, (roles, members, keys))


def _view(app: App, counts: tuple[int, int, int]) -> schemas.App:
    return schemas.App(
        slug=app.slug,
        name=app.name,
        description=app.description,
        created_at=app.created_at,
        role_count=counts[0],
        member_count=counts[1],
        active_key_count=counts[2],
    )


@router.get("", response_model=schemas.Page[schemas.App])
def list_apps(
    session: Session = SessionDep,
    principal: Principal = Authorized,
    q: str | None = Search,
    limit: int = Limit,
    cursor: str | None = Cursor,
):
    stmt = select(App)
    if q:
        stmt = stmt.where(or_(App.slug.ilike(like(q), escape="\\"), App.name.ilike(like(q), escape="\\")))
    visible = None if principal.can_all("apps/*", "read") else (lambda a: principal.can(f"apps/{a.slug}", "read"))
    rows, next_cursor, has_more = paginate(session, stmt, [App.slug], limit, cursor, visible=visible)
    counts = queries.app_counts(session, [a.id for a in rows])
    return schemas.Page(data=[_view(a, counts[a.id]) for a in rows], next_cursor=next_cursor, has_more=has_more)


@router.post("", status_code=201, response_model=schemas.App)
def create_app(body: schemas.AppCreate, request: Request, session: Session = SessionDep, principal: Principal = Authorized):
    if session.scalar(select(App.id).where(App.slug == body.slug)) is not None:
        raise conflict(f"app {body.slug!r} already exists", app=body.slug)
    app = App(slug=body.slug, name=body.name, description=body.description, created_at=queries.now(), updated_at=queries.now())
    session.add(app)
    session.flush()
    view = _view(app, (0, 0, 0))
    audit.record(session, request, principal, "app.create", f"apps/{app.slug}", after=view)
    return view


@router.get("/{slug}", response_model=schemas.App)
def get_app(slug: str, session: Session = SessionDep, principal: Principal = Authorized):
    return app_view(session, queries.app_or_404(session, slug))


@router.patch("/{slug}", response_model=schemas.App)
def update_app(
    slug: str, body: schemas.AppUpdate, request: Request, session: Session = SessionDep, principal: Principal = Authorized
):
    app = queries.app_or_404(session, slug)
    before = app_view(session, app)
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is None:
            raise ApiError(422, "validation_error", f"{field} may not be null", {"fields": [{"field": field}]})
        setattr(app, field, value)
    app.updated_at = queries.now()
    session.flush()
    after = app_view(session, app)
    audit.record(session, request, principal, "app.update", f"apps/{slug}", before, after)
    return after


@router.delete("/{slug}", status_code=204)
def delete_app(
    slug: str,
    request: Request,
    force: bool = Query(False, description="Revoke the app's live keys and delete anyway"),
    session: Session = SessionDep,
    principal: Principal = Authorized,
):
    app = queries.app_or_404(session, slug)
    before = app_view(session, app)
    at = queries.now()
    live = session.scalars(select(Key.id).where(Key.app_id == app.id, queries.live_key(at))).all()
    if live and not force:
        raise conflict(
            f"app {slug!r} still has {len(live)} active key(s); revoke them or pass force=true",
            app=slug,
            active_keys=len(live),
        )
    if live:
        session.execute(
            update(Key)
            .where(Key.id.in_(live))
            .values(revoked_at=at, revoked_by=principal.label, revoke_reason=f"app {slug} deleted")
        )
        for key_id in live:
            audit.record(session, request, principal, "key.revoke", f"apps/{slug}/keys/{key_id}", after={"reason": "app deleted"})
    session.delete(app)
    audit.record(session, request, principal, "app.delete", f"apps/{slug}", before=before)
