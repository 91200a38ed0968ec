"""Keyset pagination with opaque cursors, optionally filtered row by row; substring search.

Search is case-insensitive substring matching (ILIKE).  Over big tables it
goes through the trigram indexes of migration 0003 so it does not scan:
PostgreSQL's planner uses the ``pg_trgm`` GIN indexes for ILIKE by itself;
on SQLite the FTS5 trigram table narrows the rows and ILIKE still decides,
so the answer is the same whichever way it went.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import datetime
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from sqlalchemy import ColumnElement, Integer, Select, and_, column, func, literal_column, or_, select, table, text, tuple_
from sqlalchemy.orm import Session

from pepyhat.errors import InvalidCursor
from pepyhat.store.tables import User, UTCDateTime


def _encode(values: Sequence[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str, columns) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError
        return [_typed(v, col) for v, col in zip(values, columns)]
    except ValueError:
        raise InvalidCursor() from None


def _typed(value: Any, column) -> Any:
    """A cursor value of the column's own type; anything else would reach SQL and fail there (a 500)."""
    if isinstance(column.type, UTCDateTime):
        if not isinstance(value, str):
            raise ValueError
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:  # the store refuses naive datetimes
            raise ValueError
        return moment
    if isinstance(column.type, Integer):
        # bool is an int subclass; refuse it too, and anything a 64-bit column cannot hold
        if type(value) is not int or not -(2**63) <= value < 2**63:
            raise ValueError
        return value
    if not isinstance(value, str) or "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise ValueError
    return value


def like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(term: str, *columns) -> ColumnElement[bool]:
    """Rows where any of ``columns`` holds ``term``, case-insensitively (a scan: for small tables)."""
    return or_(*(column.ilike(like(term), escape="\\") for column in columns))


@dataclass(frozen=True)
class TrigramIndex:
    """An FTS5 trigram table over ``columns`` on SQLite, its rowid ``key`` (migration 0003)."""

    fts_table: str
    key: Any
    columns: tuple


# The trigram tokenizer needs 3 characters; shorter terms are scanned (LIKE).
TRIGRAM = 3
# A short term with fewer matches than this is rare: its rows are listed by key.
FEW = 500
# A page and the row that says whether there is more: what a scan in page order must find.
PAGE = 51


def fts_phrase(term: str) -> str:
    """``term`` as one FTS5 phrase: whatever it holds (quotes, ``*``, ``NEAR``, ``OR``) is text."""
    return '"' + term.replace('"', '""') + '"'


USERS = TrigramIndex("users_fts", User.id, (User.email, User.name))


def rare_first(session: Session, key, condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition``, its rows looked up by ``key`` when they are few: found by a scan in storage
    order (sequential), where a page's scan in the list's order reads the table at random."""
    few = session.scalars(select(key).where(condition).limit(FEW)).all()
    return condition if len(few) >= FEW else and_(key.in_(few), condition)


def indexed_search(session: Session, index: TrigramIndex, term: str) -> ColumnElement[bool]:
    """``search(term, *index.columns)``, through the trigram index where that is faster."""
    plain = search(term, *index.columns)
    if len(term) < TRIGRAM:
        # No index helps; a scan in the page's order finds a common term's page at once but
        # reads the table at random for a rare one (0.7 s at 100k).  So scan in storage order
        # first: a rare term's few rows come back whole, and only those are sorted.
        return rare_first(session, index.key, plain)
    if session.get_bind().dialect.name != "sqlite":
        # pg_trgm prices a long pattern above a scan of the whole table, so the planner scanned
        # 100k users for a term 50 of them hold (77 ms; 7 through the index).  For this
        # transaction a scan is a last resort: a common term still walks the email index.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        # A page is 51 rows: starting parallel workers for it cost more than the walk (10 of 17 ms).
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        return plain
    fts = table(index.fts_table, column("rowid"))
    matches = select(fts.c.rowid).where(literal_column(index.fts_table).op("MATCH")(fts_phrase(term)))
    common = common_at(session, index)
    found = session.execute(select(func.count()).select_from(matches.limit(common).subquery())).scalar_one()
    if found >= common:
        return plain
    return and_(index.key.in_(matches), plain)


def common_at(session: Session, index: TrigramIndex) -> int:
    """How many matches make a term common: past it, a scan in page order beats the index.

    Of ``rows`` rows, a term in ``m`` costs the index ``m`` rows (all fetched, then sorted for
    one page) and a scan in page order about ``PAGE * rows / m`` (read until a page is found):
    they cost the same at ``m = sqrt(PAGE * rows)``, 7k at 1M users.  Counting matches up to
    a fixed 20k instead cost a common term 5 ms at 1M, most of its search.
    """
    rows = session.scalar(select(func.max(index.key))) or 0  # the largest key: the table's size, from the index
    return max(1, math.isqrt(PAGE * rows))


def paginate(
    session: Session,
    stmt: Select,
    columns: Sequence,
    limit: int,
    cursor: str | None,
    *,
    descending: bool = False,
    visible: Callable[[Any], bool] | None = None,
    scalars: bool = True,
) -> tuple[list[Any], str | None, bool]:
    """One page of ``stmt`` ordered by ``columns`` (unique together).

    With ``visible``, rows the caller may not see are skipped and more are
    fetched, so pages stay full and no visible row is lost or repeated.
    """
    key = tuple_(*columns) if len(columns) > 1 else columns[0]

    def after(values):
        bound = tuple(values) if len(columns) > 1 else values[0]
        return key < bound if descending else key > bound

    order = [c.desc() if descending else c.asc() for c in columns]
    position = _decode(cursor, columns) if cursor else None
    out: list[Any] = []
    batch = limit + 1
    while True:
        query = stmt.order_by(*order).limit(batch)
        if position is not None:
            query = query.where(after(position))
        result = session.execute(query)
        rows = list(result.scalars() if scalars else result)
        for row in rows:
            if visible is None or visible(row):
                out.append(row)
                if len(out) > limit:
                    break
        if len(out) > limit or len(rows) < batch:
            break
        last = rows[-1]
        position = [_value(last, c) for c in columns]
        batch = min(batch * 2, 5000)
    has_more = len(out) > limit
    page = out[:limit]
    next_cursor = _encode([_value(page[-1], c) for c in columns]) if has_more and page else None
    return page, next_cursor, has_more


def _value(row: Any, column) -> Any:
    return getattr(row, column.key)
