"""The access matrix as an operator drives it: members by roles, filters, grants at the cursor, export.

Against the demo organisation (clock frozen): what the grid shows is checked
against what the service's own lists say, not against numbers written here.
"""

from __future__ import annotations

import csv
import json
from datetime import timedelta

import pytest
from textual.widgets import Input, Static

from pepyhat import schemas
from pepyhat_tui.screens.confirm import ConfirmScreen
from pepyhat_tui.screens.export import ExportScreen
from pepyhat_tui.screens.grant_confirm import GrantConfirmScreen
from pepyhat_tui.screens.matrix import MatrixScreen
from pepyhat_tui.screens.pick import PickScreen
from pepyhat_tui.screens.user_detail import UserDetailScreen
from pepyhat_tui.widgets.access_matrix import EXPIRED, EXPIRES, GRANTED, bar
from tests.tui.support import FIXED, goto, plain, steps, title, until

SIZE = (120, 36)
APP = "crm"


async def open_matrix(pilot, app: str = APP) -> MatrixScreen:
    await until(pilot, lambda: pilot.app.identity is not None, "signing in")
    await goto(pilot, f"matrix {app}")
    screen = pilot.app.screen
    assert isinstance(screen, MatrixScreen)
    await until(pilot, lambda: screen.pane is not None and screen.pane.table.loaded_once, "the matrix")
    return screen


def grid(screen: MatrixScreen) -> dict[str, dict[str, str]]:
    """email -> role -> the mark shown."""
    table = screen.pane.table
    out = {}
    for row in range(table.row_count):
        cells = table.get_row_at(row)
        email = cells[0].plain
        out[email] = {role.slug: cells[i + 1].plain for i, role in enumerate(table.roles)}
    return out


async def members_of(service, **params) -> list[schemas.Member]:
    async with service.http() as http:
        found, cursor = [], None
        while True:
            response = await http.get(f"/api/v1/apps/{APP}/members", params={"limit": 500, **params, **({"cursor": cursor} if cursor else {})})
            page = schemas.Page[schemas.Member].model_validate(response.json())
            found += page.data
            if not page.has_more:
                return found
            cursor = page.next_cursor


async def roles_of(service) -> list[schemas.Role]:
    async with service.http() as http:
        return schemas.Page[schemas.Role].model_validate((await http.get(f"/api/v1/apps/{APP}/roles")).json()).data


async def move_to(pilot, screen: MatrixScreen, email: str, role: str | None) -> None:
    table = screen.pane.table
    await until(pilot, lambda: email in table.items or not table.has_more, f"{email} paged in")
    row = table.get_row_index(email)
    column = 0 if role is None else 1 + [r.slug for r in table.roles].index(role)
    table.move_cursor(row=row, column=column)
    await steps(pilot)


async def a_member_lacking_a_role(service) -> tuple[schemas.Member, str]:
    roles = await roles_of(service)
    member = next(m for m in await members_of(service) if len(m.grants) < len(roles))
    return member, next(r.slug for r in roles if r.slug not in {g.role for g in member.grants})


def expected_mark(grant: schemas.GrantInfo | None) -> str:
    if grant is None:
        return ""
    if grant.expired:
        return EXPIRED
    return EXPIRES if grant.expires_at else GRANTED


async def test_rows_are_members_and_columns_roles_with_their_counts(service):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        members = await members_of(service)
        roles = await roles_of(service)
        table = screen.pane.table
        assert [r.slug for r in table.roles] == [r.slug for r in roles]
        shown = grid(screen)
        first_page = members[: len(shown)]
        assert list(shown) == [m.email for m in first_page]
        for member in first_page:
            held = {g.role: g for g in member.grants}
            assert shown[member.email] == {r.slug: expected_mark(held.get(r.slug)) for r in roles}, member.email
        # Each header: the role, its member count, and a bar as long as its share of the members.
        async with service.http() as http:
            total = schemas.App.model_validate((await http.get(f"/api/v1/apps/{APP}")).json()).member_count
        for role in roles:
            label = table.columns[table.column_key(role.slug)].label.plain
            name, counts = label.split("\n")
            assert name.rstrip("…") and role.slug.startswith(name.rstrip("…"))
            drawn, count = counts.rsplit(" ", 1)
            assert int(count) == role.member_count
            assert drawn == bar(role.member_count, total, len(drawn))
        assert f"{len(shown)} members" in title(screen)


async def test_an_expiring_grant_shows_its_date_at_the_cursor(service):
    members = await members_of(service)
    expiring = next(
        (m, g) for m in members for g in m.grants if g.expires_at is not None and not g.expired
    )
    member, grant = expiring
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        await move_to(pilot, screen, member.email, grant.role)
        assert grid(screen)[member.email][grant.role] == EXPIRES
        line = plain(screen.pane.query_one("#cell", Static))
        assert f"until {grant.expires_at:%Y-%m-%d %H:%M} UTC" in line and grant.granted_by in line, line


async def test_the_permission_filter_keeps_its_holders_and_highlights_its_roles(service):
    roles = await roles_of(service)
    permission = "accounts.delete"  # the admin role's alone in the demo: a narrow question
    givers = {r.slug for r in roles if permission in r.permissions}
    assert givers and givers != {r.slug for r in roles}
    holders = await members_of(service, permission=permission)
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        await steps(pilot, "p")
        picker = pilot.app.screen
        assert isinstance(picker, PickScreen)
        await until(pilot, lambda: picker.query_one("#choices").option_count > 1, "the permissions")
        choices = picker.query_one("#choices")
        index = next(i for i in range(choices.option_count) if choices.get_option_at_index(i).id == permission)
        choices.highlighted = index
        await steps(pilot, "enter")
        await until(pilot, lambda: screen.pane.permission == permission and not screen.pane.table.loading_page, "filtered")
        assert set(grid(screen)) == {m.email for m in holders}
        assert screen.pane.table.highlighted == givers
        assert f"who can {permission}: via {', '.join(sorted(givers))}" in title(screen)
        for role in screen.pane.table.roles:
            header = screen.pane.table.columns[screen.pane.table.column_key(role.slug)].label
            assert ("reverse" in str(header.style)) is (role.slug in givers)
        # and the email filter narrows the same list further, on the server
        someone = holders[0].email
        await steps(pilot, "slash", *someone.split("@")[0], "enter")
        await until(pilot, lambda: set(grid(screen)) == {someone}, "the email filter")


async def test_space_grants_with_an_expiry_then_removes(service):
    member, role = await a_member_lacking_a_role(service)
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        await move_to(pilot, screen, member.email, role)
        await steps(pilot, "space")
        dialog = pilot.app.screen
        assert isinstance(dialog, GrantConfirmScreen)
        words = " ".join(plain(s) for s in dialog.query(Static))
        assert member.email in words and role in words and APP in words
        await steps(pilot, *"30d")  # typed at once: it lands in the expiry field
        assert dialog.query_one("#expires", Input).value == "30d"
        await steps(pilot, "enter")
        await until(pilot, lambda: grid(screen)[member.email][role] == EXPIRES, "the new grant's mark")
        held = {g.role: g for m in await members_of(service, q=member.email) if m.email == member.email for g in m.grants}
        assert held[role].expires_at == FIXED + timedelta(days=30)
        before = next(r for r in screen.pane.table.roles if r.slug == role).member_count
        assert before == next(r for r in await roles_of(service) if r.slug == role).member_count

        await steps(pilot, "space")
        confirm = pilot.app.screen
        assert isinstance(confirm, ConfirmScreen) and not isinstance(confirm, GrantConfirmScreen)
        await steps(pilot, "y")
        await until(pilot, lambda: grid(screen)[member.email][role] == "", "the mark gone")
        held = {g.role for m in await members_of(service, q=member.email) if m.email == member.email for g in m.grants}
        assert role not in held
        assert next(r for r in screen.pane.table.roles if r.slug == role).member_count == before - 1


async def test_a_bad_expiry_keeps_the_dialog_open(service):
    member, role = await a_member_lacking_a_role(service)
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        await move_to(pilot, screen, member.email, role)
        await steps(pilot, "space", *"soon", "enter")
        dialog = pilot.app.screen
        assert isinstance(dialog, GrantConfirmScreen)
        assert "duration like 30d" in plain(dialog.query_one("#expiry-error", Static))
        await steps(pilot, "escape")
        assert pilot.app.screen is screen and grid(screen)[member.email][role] == ""


async def test_everyone_brings_users_without_a_role(service):
    async with service.http() as http:
        assert (await http.post("/api/v1/users", json={"email": "aaron.nobody@example.com", "name": "No Role"})).status_code == 201
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        assert "aaron.nobody@example.com" not in grid(screen)
        await steps(pilot, "a")
        await until(pilot, lambda: "aaron.nobody@example.com" in grid(screen), "everyone")
        assert set(grid(screen)["aaron.nobody@example.com"].values()) == {""}
        assert "everyone" in title(screen) and "users" in title(screen)


async def test_enter_opens_the_user_and_escape_comes_back(service):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        email = next(iter(grid(screen)))
        await steps(pilot, "enter")
        assert isinstance(pilot.app.screen, UserDetailScreen) and pilot.app.screen.email == email
        await steps(pilot, "escape")
        assert pilot.app.screen is screen


async def test_m_on_an_app_opens_its_matrix(service):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.screen.table.loaded_once, "the apps")
        slug = pilot.app.screen.table.selected().slug
        await steps(pilot, "m")
        assert isinstance(pilot.app.screen, MatrixScreen) and pilot.app.screen.app_slug == slug
        await steps(pilot, "escape", "enter", "m")  # and from the app's own page
        assert isinstance(pilot.app.screen, MatrixScreen) and pilot.app.screen.app_slug == slug


@pytest.mark.parametrize("format", ["csv", "json"])
async def test_x_exports_the_review_and_says_where(service, tmp_path, format):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_matrix(pilot)
        await steps(pilot, "x")
        dialog = pilot.app.screen
        assert isinstance(dialog, ExportScreen)
        if format == "json":
            dialog.query_one("#format-json").value = True
            await steps(pilot)
            assert dialog.query_one("#path", Input).value.endswith(".json")
        target = tmp_path / f"review.{format}"
        dialog.query_one("#path", Input).value = str(target)
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: pilot.app.screen is screen, "the export written")
        assert any(str(target) in str(n.message) for n in pilot.app._notifications), "the toast says where"
    members = await members_of(service)
    expected = {(m.email, g.role, g.granted_by) for m in members for g in m.grants}
    if format == "csv":
        rows = list(csv.DictReader(target.open()))
        assert {(r["email"], r["role"], r["granted_by"]) for r in rows} == expected
        assert {r["app"] for r in rows} == {APP}
    else:
        review = schemas.AccessReview.model_validate(json.loads(target.read_text()))
        assert {(r.email, r.role, r.granted_by) for r in review.rows} == expected
        roles = {r.slug: set(r.permissions) for r in await roles_of(service)}
        for row in review.rows:  # users x roles x permissions: each role's permissions spelled out
            assert row.permission in roles[row.role] or (row.permission is None and not roles[row.role])


async def test_an_existing_file_is_replaced_only_when_asked_twice(service, tmp_path):
    target = tmp_path / "kept.csv"
    target.write_text("precious\n")
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await open_matrix(pilot)
        await steps(pilot, "x")
        dialog = pilot.app.screen
        dialog.query_one("#path", Input).value = str(target)
        await steps(pilot, "ctrl+s")
        assert pilot.app.screen is dialog and "exists" in plain(dialog.query_one("#form-error", Static))
        assert target.read_text() == "precious\n"
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: pilot.app.screen is not dialog, "replaced")
        assert target.read_text().startswith("app,email,")


async def test_an_unknown_app_says_so(service):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: pilot.app.identity is not None, "signing in")
        await goto(pilot, "matrix nope")
        screen = pilot.app.screen
        assert isinstance(screen, MatrixScreen)
        await until(pilot, lambda: screen.banner.display, "the banner")
        assert "nope" in plain(screen.banner)


def test_snapshot_matrix_with_an_expiring_grant_at_the_cursor(snap_compare, demo_app):
    """The per-role bars in the headers, and the cursor on an expiring grant: its date on the line below."""

    async def run_before(pilot) -> None:
        screen = await open_matrix(pilot)
        table = screen.pane.table
        row, column = next(
            (r, c) for r in range(table.row_count) for c, cell in enumerate(table.get_row_at(r)) if cell.plain == EXPIRES
        )
        table.move_cursor(row=row, column=column)
        await steps(pilot)

    assert snap_compare(demo_app, terminal_size=SIZE, run_before=run_before)
