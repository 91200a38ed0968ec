"""The access matrix's grid: members down, roles across, a mark where a grant is.

Each role's header is two lines: its slug, then its member count drawn as a bar
(against the app's members), so the shape of an app's access shows at a
glance.  Roles that give the permission being filtered on are highlighted.
The grid is a ``PagedTable`` with a cell cursor: it holds one page of members
after another as the cursor goes down, never the whole app.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Sequence

from rich.text import Text

from pepyhat import schemas
from pepyhat_tui.formatting import EXPIRING_SOON
from pepyhat_tui.text import literal
from pepyhat_tui.widgets.paged_table import Fetch, PagedTable
from textual.widgets.data_table import ColumnKey

EMAIL = "email"
EIGHTHS = " ▏▎▍▌▋▊▉"
GRANTED, EXPIRES, EXPIRED = "●", "◐", "○"
LEGEND = f"{GRANTED} granted  {EXPIRES} granted until a date  {EXPIRED} expired"


def bar(count: int, total: int, width: int) -> str:
    """``count`` of ``total`` as a bar ``width`` cells wide, in eighths of a cell."""
    if width <= 0:
        return ""
    eighths = round(width * 8 * min(count, total) / total) if total > 0 else 0
    if count and not eighths:
        eighths = 1  # one member still shows
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width, "·")


def role_width(role: schemas.Role) -> int:
    return min(max(len(role.slug), 9), 14)


def role_header(role: schemas.Role, total: int, highlighted: bool) -> Text:
    """``editor`` over ``█████···  12``: the slug, then the members as a bar and a count."""
    width = role_width(role)
    count = str(role.member_count)
    header = literal(role.slug, "bold reverse" if highlighted else "bold", limit=width)
    header.append("\n")
    header.append(bar(role.member_count, total, width - len(count) - 1), style="yellow" if highlighted else "cyan")
    header.append(" " + count, style="dim")
    return header


def mark(grant: schemas.GrantInfo | None, now: datetime, highlighted: bool = False) -> Text:
    """What a cell shows: granted, granted until a date (yellow within 7 days), expired, or nothing."""
    if grant is None:
        return Text("")
    if grant.expired:
        return Text(EXPIRED, style="dim", justify="center")
    if grant.expires_at is not None:
        soon = grant.expires_at - now <= EXPIRING_SOON
        return Text(EXPIRES, style="bold yellow" if soon else "yellow", justify="center")
    return Text(GRANTED, style="bold green" if highlighted else "green", justify="center")


class MatrixTable(PagedTable):
    """Members x roles; the cursor is a cell: a member (row) and a role (column)."""

    DEFAULT_CSS = """
    MatrixTable > .datatable--header {
        text-style: none;
    }
    """

    def __init__(
        self,
        roles: Sequence[schemas.Role],
        total: int,
        fetch: Fetch,
        cells: Callable[[Any], Sequence[Any]],
        row_key: Callable[[Any], str],
        **kwargs,
    ) -> None:
        super().__init__([("Member", EMAIL)], fetch, cells, row_key, cursor_type="cell", header_height=2, **kwargs)
        self.roles = list(roles)
        self.total = total
        self.highlighted: set[str] = set()

    def add_columns_of_rows(self) -> None:
        self.add_column(Text("Member", style="bold"), key=EMAIL, width=30)
        for role in self.roles:
            self.add_column(role_header(role, self.total, False), key=self.column_key(role.slug).value, width=role_width(role))
        self.fixed_columns = 1  # the member stays in view when the roles scroll

    @staticmethod
    def column_key(role: str) -> ColumnKey:
        return ColumnKey(f"role:{role}")

    def role_at_cursor(self) -> schemas.Role | None:
        column = self.cursor_coordinate.column
        return self.roles[column - 1] if 0 < column <= len(self.roles) else None

    def redraw_headers(self, roles: Sequence[schemas.Role] | None = None, total: int | None = None) -> None:
        """New counts (after a grant) or highlights (a permission filter): the headers again, in place."""
        by_slug = {r.slug: r for r in roles or ()}
        self.roles = [by_slug.get(r.slug, r) for r in self.roles]
        if total is not None:
            self.total = total
        for role in self.roles:
            column = self.columns.get(self.column_key(role.slug))
            if column is not None:
                column.label = role_header(role, self.total, role.slug in self.highlighted)
        self._update_count += 1  # (the header is a cached line, as rows are)
        self.refresh()
