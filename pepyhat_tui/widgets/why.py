"""Why a user holds each permission in an app, from the explain endpoint.

``WhyPanel``: per permission, the roles that grant it and, for each, who granted
it, when and until when.  ``GrantsPanel``: every grant of the user in the app,
expired ones included and marked.  Both show service text literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from pepyhat import schemas
from pepyhat_tui.formatting import EXPIRING_SOON, relative
from pepyhat_tui.text import join, literal


@dataclass(frozen=True)
class WhyRow:
    """One (permission, role) line as shown: every field already text."""

    permission: str
    role: str
    granted_by: str
    granted: str
    until: str


def _granted(grant: schemas.GrantInfo) -> str:
    return f"{grant.granted_at:%Y-%m-%d}"  # (when it ends matters more: that one is relative too)


def _until(grant: schemas.GrantInfo, now: datetime) -> Text:
    if grant.expires_at is None:
        return Text("no expiry", style="dim")
    when = f"{grant.expires_at:%Y-%m-%d} ({relative(grant.expires_at, now)})"
    if grant.expired:
        return Text(f"expired {when}", style="red")
    soon = grant.expires_at - now <= EXPIRING_SOON
    return Text(when, style="bold yellow" if soon else "")


def _table(*headers: str) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, padding=(0, 2, 0, 0))
    for header in headers:
        table.add_column(header, overflow="fold", no_wrap=header in ("Granted", "Until", ""))
    return table


def _empty_reason(explained: schemas.ExplainResponse) -> str | None:
    if not explained.found:
        return "no such user: nothing is granted"
    if not explained.active:
        return "deactivated: no permission is granted (the grants are kept)"
    if not explained.why:
        return "no live grant in this app: no permission"
    return None


class WhyPanel(Static):
    """Each permission, the roles that grant it, and each grant's origin and end."""

    DEFAULT_CSS = """
    WhyPanel {
        height: auto;
        padding: 0 1;
    }
    """
    TITLE = "Why — the roles that grant each permission"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[WhyRow] = []
        self.noted = ""  # why there is nothing to explain, as shown (or "")

    def roles_by_permission(self) -> dict[str, list[str]]:
        """permission -> the roles shown granting it, in order (what the operator reads)."""
        out: dict[str, list[str]] = {}
        for row in self.rows:
            out.setdefault(row.permission, []).append(row.role)
        return out

    def show(self, explained: schemas.ExplainResponse, now: datetime) -> None:
        self.rows = []
        heading = Text(self.TITLE, style="bold")
        reason = _empty_reason(explained)
        self.noted = reason or ""
        if reason is not None:
            self.update(Group(heading, Text(reason, style="italic")))
            return
        table = _table("Permission", "Role", "Granted by", "Granted", "Until")
        for permission, grants in explained.why.items():
            for index, grant in enumerate(grants):
                until = _until(grant, now)
                row = WhyRow(permission, grant.role, grant.granted_by, _granted(grant), until.plain)
                self.rows.append(row)
                table.add_row(
                    literal(permission, "bold") if index == 0 else Text(""),  # the permission once per group
                    literal(grant.role), literal(grant.granted_by), Text(row.granted), until,
                )
        self.update(Group(heading, table))

    def note(self, why_not: Text | str) -> None:
        """Nothing to explain here, and why (no capability, an error)."""
        self.rows = []
        shown = Text(why_not, style="italic") if isinstance(why_not, str) else why_not
        self.noted = shown.plain
        self.update(Group(Text(self.TITLE, style="bold"), shown) if self.noted else "")  # "": nothing at all


class GrantsPanel(Static):
    """Every grant of the user in the app, the expired ones marked."""

    DEFAULT_CSS = """
    GrantsPanel {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.rows: list[tuple[str, bool]] = []  # (role, expired), as listed

    def show(self, explained: schemas.ExplainResponse, now: datetime) -> None:
        self.rows = [(g.role, g.expired) for g in explained.grants]
        heading = Text("Grants (expired ones included)", style="bold")
        if not explained.grants:
            self.update(Group(heading, Text("none", style="italic")))
            return
        table = _table("Role", "Granted by", "Granted", "Until", "")
        for grant in explained.grants:
            table.add_row(
                literal(grant.role, "strike dim" if grant.expired else ""), literal(grant.granted_by),
                Text(_granted(grant)), _until(grant, now),
                Text("expired", style="bold red") if grant.expired else Text("live", style="green"),
            )
        self.update(Group(heading, table))


def summary(explained: schemas.ExplainResponse) -> Text:
    """The data plane's answer in a line: found, active, roles, permissions."""
    found = Text("found", style="green") if explained.found else Text("not found", style="bold red")
    active = Text("active", style="green") if explained.active else Text("inactive", style="bold red")
    roles = join(*[(r, "bold") for r in explained.roles], separator=", ") if explained.roles else Text("none", "dim")
    perms = (join(*[(p, "") for p in explained.permissions], separator=", ") if explained.permissions
             else Text("none", "dim"))
    return join(found, " · ", active, "\nRoles: ", roles, "\nPermissions: ", perms)
