"""Apps: the internal applications Pepy Hat authorizes for."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from pepyhat import audit, paths, schemas
from pepyhat.errors import Conflict
from pepyhat.service.actor import Actor, Context
from pepyhat.store import queries
from pepyhat.store.pages import paginate, search
from pepyhat.store.tables import App, Key


def app_view(app: App, counts: tuple[int, int, int]) -> schemas.App:
    roles, members, keys = counts
    return schemas.App(
        slug=app.slug,
        name=app.name,
        description=app.description,
        created_at=app.created_at,
        role_count=roles,
        member_count=members,
        active_key_count=keys,
    )


def _view(session: Session, app: App) -> schemas.App:
    return app_view(app, queries.app_counts(session, [app.id])[app.id])


def list_apps(
    session: Session, actor: Actor, *, q: str | None = None, limit: int = 50, cursor: str | None = None
) -> schemas.Page[schemas.App]:
    stmt = select(App)
    if q:
        stmt = stmt.where(search(q, App.slug, App.name))
    visible = actor.visible(paths.ALL_APPS, lambda a: paths.app(a.slug))
    rows, next_cursor, has_more = paginate(session, stmt, [App.slug], limit, cursor, visible=visible)
    counts = queries.app_counts(session, [a.id for a in rows])
    return schemas.Page(data=[app_view(a, counts[a.id]) for a in rows], next_cursor=next_cursor, has_more=has_more)


def get_app(session: Session, slug: str) -> schemas.App:
    return _view(session, queries.get_app(session, slug))


def create_app(session: Session, actor: Actor, context: Context, body: schemas.AppCreate) -> schemas.App:
    if session.scalar(select(App.id).where(App.slug == body.slug)) is not None:
        raise Conflict(f"app {body.slug!r} already exists", app=body.slug)
    now = queries.now()
    app = App(slug=body.slug, name=body.name, description=body.description, created_at=now, updated_at=now)
    session.add(app)
    session.flush()
    view = app_view(app, (0, 0, 0))
    audit.record(session, actor, context, "app.create", paths.app(app.slug), after=view)
    return view


def update_app(session: Session, actor: Actor, context: Context, slug: str, body: schemas.AppUpdate) -> schemas.App:
    app = queries.get_app(session, slug)
    before = _view(session, app)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(app, field, value)
    app.updated_at = queries.now()
    session.flush()
    after = _view(session, app)
    audit.record(session, actor, context, "app.update", paths.app(slug), before, after)
    return after


def delete_app(session: Session, actor: Actor, context: Context, slug: str, *, force: bool = False) -> None:
    """Delete the app; with ``force``, revoke its live keys first (a live key blocks the delete)."""
    app = queries.get_app(session, slug)
    before = _view(session, app)
    at = queries.now()
    live = session.scalars(select(Key.id).where(Key.app_id == app.id, queries.live_key(at))).all()
    if live and not force:
        raise Conflict(
            f"app {slug!r} still has {len(live)} active key(s); revoke them or pass force=true",
            app=slug,
            active_keys=len(live),
        )
    if live:
        session.execute(
            update(Key)
            .where(Key.id.in_(live))
            .values(revoked_at=at, revoked_by=actor.name, revoke_reason=f"app {slug} deleted")
        )
        for key_id in live:
            audit.record(session, actor, context, "key.revoke", paths.app_key(slug, key_id), after={"reason": "app deleted"})
    session.delete(app)
    audit.record(session, actor, context, "app.delete", paths.app(slug), before=before)
