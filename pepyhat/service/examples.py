"""Example resources a scope pattern matches: the scope editor's live list as the operator types.

Bounded whatever the size of the organisation, for it runs on every keystroke:

- a kind of resource (``apps/{slug}/members/{email}``, ...) is looked at only
  when the pattern can match one of its paths, the caller holds the capability
  that reads it, and one of the caller's read scopes reaches it;
- where the pattern (or the caller's scope) names a segment, a literal or one of
  a few, the query asks for exactly those values (``apps/crm/**`` reads crm's
  rows alone, ``**/alice@example.com`` one user);
- every query has a LIMIT and follows an index; the children of apps are read
  app by app (apps that have some), ``QUERIES`` queries per kind at most, never
  as one join over a large table.

What the queries return is checked with ``scopes.matches`` and against the
caller's scopes before it is shown.

When a bound cuts the search short, ``has_more`` says there may be more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import zip_longest
from typing import Callable, Iterator, Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from pepyhat import paths, schemas, scopes
from pepyhat.service.actor import Actor
from pepyhat.store.tables import App, Grant, Key, Permission, Role, User

QUERIES = 12  # per kind of resource, at most
APP_SCAN = QUERIES - 1  # apps whose children one kind reads: an apps list, then a query per app
MAX_CANDIDATES = 1000  # rows looked at per kind of resource, at most
MAX_VARIANTS = 8  # narrowed queries per kind (one per scope of the caller), beyond which one for them all
# A segment no valid pattern holds (segments have no white space): it stands for every
# value the pattern does not name, as scopes' own fresh segment does.
_OTHER = " "

Values = frozenset[str] | None  # the values a placeholder may take; None: any


@dataclass
class _Search:
    """What one kind of resource's queries found, and whether a LIMIT cut them short."""

    limit: int
    truncated: bool = False
    candidates: int = 0
    queries: int = 0

    def rows(self, session: Session, stmt: Select, n: int | None = None) -> list:
        """Up to ``n`` rows (default: the search's limit); one more is asked for, to know if there are more."""
        if self.queries >= QUERIES:
            self.truncated = True
            return []
        self.queries += 1
        n = n or self.limit
        found = list(session.execute(stmt.limit(n + 1)))
        if len(found) > n:
            self.truncated = True
        return found[:n]


@dataclass(frozen=True)
class Kind:
    template: str  # placeholders in braces: "apps/{slug}/roles/{role}"
    capability: str  # the capability that reads resources of this kind
    fetch: Callable[[Session, _Search, Sequence[Values]], Iterator[str]] = field(compare=False)

    @property
    def segments(self) -> list[str]:
        return self.template.split("/")

    @property
    def pattern(self) -> str:
        return "/".join("*" if _is_placeholder(s) else s for s in self.segments)


def _is_placeholder(segment: str) -> bool:
    return segment.startswith("{")


# -- narrowing --------------------------------------------------------------------


def _values(pattern: str, kind: Kind, position: int) -> Values:
    """The values the placeholder at ``position`` can take in a path of ``kind`` that ``pattern`` matches."""

    def shape(value: str) -> str:
        return "/".join(
            value if i == position else ("*" if _is_placeholder(s) else s) for i, s in enumerate(kind.segments)
        )

    if scopes.intersects(pattern, shape(_OTHER)):
        return None  # a value the pattern does not name fits: any value may
    literals = {s for s in pattern.split("/") if s not in ("*", "**")}
    return frozenset(v for v in literals if scopes.intersects(pattern, shape(v)))


def _narrowing(pattern: str, kind: Kind) -> list[Values]:
    return [_values(pattern, kind, i) for i, s in enumerate(kind.segments) if _is_placeholder(s)]


def _both(a: Values, b: Values) -> Values:
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _variants(pattern: str, reach: Sequence[str], kind: Kind) -> list[list[Values]]:
    """One list of placeholder values per read scope of the caller that reaches ``kind``."""
    mine = _narrowing(pattern, kind)
    out: list[list[Values]] = []
    for scope in reach:
        if not scopes.intersects(scope, kind.pattern):
            continue
        theirs = _narrowing(scope, kind)
        if all(v is None for v in theirs):
            return [mine]  # this scope reaches every path of the kind: the pattern alone narrows
        combined = [_both(a, b) for a, b in zip(mine, theirs)]
        if any(v is not None and not v for v in combined) or combined in out:
            continue  # none of the pattern's paths of this kind, or asked already
        out.append(combined)
    if len(out) > MAX_VARIANTS:
        # One query instead, for the union of their values at each place: wider than the
        # scopes (a cross product), and what it finds is checked against them path by path.
        merged = [None if any(v[i] is None for v in out) else frozenset().union(*(v[i] for v in out)) for i in range(len(mine))]
        return [merged]
    return out


def _among(column, values: Values):
    return column.in_(sorted(values)) if values is not None else None


def _where(stmt: Select, *conditions) -> Select:
    present = [c for c in conditions if c is not None]
    return stmt.where(*present) if present else stmt


# -- the kinds of resource ----------------------------------------------------------


def _apps(session: Session, search: _Search, slugs: Values, n: int, having=None) -> list:
    """Apps by slug; with ``having`` (an EXISTS on an indexed app_id), only those with such rows,
    so that no query is spent on an app with nothing of the kind."""
    stmt = _where(select(App.id, App.slug), _among(App.slug, slugs), having)
    return search.rows(session, stmt.order_by(App.slug), n)


def _fetch_apps(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
    (slugs,) = values
    for _, slug in _apps(session, search, slugs, search.limit):
        yield paths.app(slug)


def _children(table, path_of) -> Callable[[Session, _Search, Sequence[Values]], Iterator[str]]:
    """Roles or permissions: app by app, each app's rows by the unique (app_id, slug) index."""

    def fetch(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
        slugs, children = values
        if children is not None:  # a few slugs, in every app at once: tens of rows per app, a small table
            stmt = select(App.slug, table.slug).join(App, App.id == table.app_id).where(table.slug.in_(sorted(children)))
            for slug, child in search.rows(session, _where(stmt, _among(App.slug, slugs)).order_by(App.slug, table.slug)):
                yield path_of(slug, child)
            return
        having = select(table.id).where(table.app_id == App.id).exists()
        for app_id, slug in _apps(session, search, slugs, APP_SCAN, having):
            stmt = select(table.slug).where(table.app_id == app_id).order_by(table.slug)
            for (child,) in search.rows(session, stmt):
                yield path_of(slug, child)

    return fetch


def _fetch_members(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
    slugs, emails = values
    if emails is not None:  # a few users, found by email: their grants are few
        stmt = (
            select(App.slug, User.email)
            .select_from(User)
            .join(Grant, Grant.user_id == User.id)
            .join(Role, Role.id == Grant.role_id)
            .join(App, App.id == Role.app_id)
            .where(User.email.in_(sorted(emails)))
        )
        stmt = _where(stmt, _among(App.slug, slugs)).distinct().order_by(App.slug, User.email)
        for slug, email in search.rows(session, stmt):
            yield paths.member(slug, email)
        return
    having = select(Grant.role_id).join(Role, Role.id == Grant.role_id).where(Role.app_id == App.id).exists()
    for app_id, slug in _apps(session, search, slugs, APP_SCAN, having):
        # An app's members in the order its grants' index gives them: ordering them by
        # email would sort every member of a large app.  Shown sorted, and unique.
        stmt = (
            select(User.email)
            .select_from(Role)
            .join(Grant, Grant.role_id == Role.id)
            .join(User, User.id == Grant.user_id)
            .where(Role.app_id == app_id)
        )
        for email in sorted({email for (email,) in search.rows(session, stmt)}):
            yield paths.member(slug, email)


def _fetch_app_keys(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
    slugs, ids = values
    if ids is not None:  # by primary key
        stmt = select(App.slug, Key.id).join(App, App.id == Key.app_id).where(Key.kind == "app", Key.id.in_(sorted(ids)))
        for slug, key_id in search.rows(session, _where(stmt, _among(App.slug, slugs)).order_by(App.slug, Key.id)):
            yield paths.app_key(slug, key_id)
        return
    having = select(Key.id).where(Key.app_id == App.id, Key.kind == "app").exists()
    for app_id, slug in _apps(session, search, slugs, APP_SCAN, having):
        stmt = select(Key.id).where(Key.app_id == app_id, Key.kind == "app").order_by(Key.id)
        for (key_id,) in search.rows(session, stmt):
            yield paths.app_key(slug, key_id)


def _users(session: Session, search: _Search, emails: Values) -> list:
    return search.rows(session, _where(select(User.email), _among(User.email, emails)).order_by(User.email))


def _fetch_authz(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
    # The data plane answers for any user in any app: every (app, user) pair is a real path.
    # Two queries in all, so as many apps as one query brings.
    slugs, emails = values
    users = None
    for _, slug in _apps(session, search, slugs, search.limit):
        users = users if users is not None else _users(session, search, emails)
        for (email,) in users:
            yield paths.authz(slug, email)


def _fetch_users(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
    (emails,) = values
    for (email,) in _users(session, search, emails):
        yield paths.user(email)


def _fetch_tokens(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
    (ids,) = values
    # Admin tokens belong to no app: found through the app_id index's NULLs, not a scan of every key.
    stmt = _where(select(Key.id).where(Key.app_id.is_(None), Key.kind == "admin"), _among(Key.id, ids))
    for (key_id,) in search.rows(session, stmt.order_by(Key.id)):
        yield paths.token(key_id)


def _fetch_audit(session: Session, search: _Search, values: Sequence[Values]) -> Iterator[str]:
    yield paths.AUDIT


# In DESIGN's order ("Resource paths"); the answer takes one of each in turn, so a
# pattern as wide as ``**`` shows every kind it reaches rather than five apps.
KINDS: tuple[Kind, ...] = (
    Kind(paths.app("{slug}"), "apps.read", _fetch_apps),
    Kind(paths.role("{slug}", "{role}"), "apps.read", _children(Role, paths.role)),
    Kind(paths.permission("{slug}", "{perm}"), "apps.read", _children(Permission, paths.permission)),
    Kind(paths.member("{slug}", "{email}"), "users.read", _fetch_members),
    Kind(paths.app_key("{slug}", "{key_id}"), "keys.read", _fetch_app_keys),
    Kind(paths.authz("{slug}", "{email}"), "users.read", _fetch_authz),
    Kind(paths.user("{email}"), "users.read", _fetch_users),
    Kind(paths.token("{key_id}"), "keys.read", _fetch_tokens),
    Kind(paths.AUDIT, "audit.read", _fetch_audit),
)


# -- the operation ------------------------------------------------------------------


def _examples_of(
    session: Session, actor: Actor, pattern: str, kind: Kind, reach: Sequence[str], limit: int
) -> tuple[list[str], bool]:
    """Up to ``limit + 1`` paths of ``kind``; and whether a bound may have hidden some."""
    search = _Search(limit=min(max(2 * (limit + 1), 20), 200))
    found: list[str] = []
    seen: set[str] = set()
    for values in _variants(pattern, reach, kind):
        for path in kind.fetch(session, search, values):
            search.candidates += 1
            if search.candidates > MAX_CANDIDATES:
                return found, True
            if path in seen or not scopes.matches(pattern, path) or not actor.can(path, "read"):
                continue
            seen.add(path)
            found.append(path)
            if len(found) > limit:
                return found, True
    return found, search.truncated


def scope_examples(session: Session, actor: Actor, pattern: str, limit: int = 5) -> schemas.ScopeExamples:
    """Resource paths of this organisation that ``pattern`` matches and the caller may read, a few of each kind."""
    reach = [s.path for s in actor.scopes if scopes.allows(s.operations, "read")]
    per_kind: list[list[str]] = []
    more = False
    for kind in KINDS:
        if kind.capability not in actor.capabilities or not scopes.intersects(pattern, kind.pattern):
            continue
        found, cut = _examples_of(session, actor, pattern, kind, reach, limit)
        per_kind.append(found)
        more = more or cut
    # One of each kind in turn, then the second of each, ...
    interleaved = [path for group in zip_longest(*per_kind) for path in group if path is not None]
    return schemas.ScopeExamples(data=interleaved[:limit], has_more=more or len(interleaved) > limit)
