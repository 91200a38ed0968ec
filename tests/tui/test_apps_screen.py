"""Apps and app detail, driven from the keyboard: list, filter, tabs, create/edit/delete, bad input.

Every result is read twice: on screen (rows, titles, the form's error line) and
through the service's own API, so a dashboard that only pretends fails.
"""

from __future__ import annotations


from textual.pilot import Pilot
from textual.widgets import Button, Input, SelectionList, Static

from pepyhat_tui.screens.app_detail import AppDetailScreen
from pepyhat_tui.screens.app_form import AppForm
from pepyhat_tui.screens.apps import AppsScreen
from pepyhat_tui.screens.confirm import ConfirmScreen
from pepyhat_tui.screens.permission_form import PermissionForm
from pepyhat_tui.screens.role_form import RoleForm
from pepyhat_tui.widgets.paged_table import PagedTable
from tests.tui.support import plain, settle, steps, title, type_text, until

SIZE = (120, 36)


# -- helpers ----------------------------------------------------------------------


async def clear_field(pilot: Pilot) -> None:
    await pilot.press("home", "ctrl+k")


async def select_row(pilot: Pilot, table: PagedTable, key: str) -> None:
    """Move the cursor with the arrow keys to the row ``key``."""
    assert key in table.items, f"{key!r} not in {list(table.items)}"
    target = table.get_row_index(key)
    while table.cursor_row != target:
        await pilot.press("down" if table.cursor_row < target else "up")
    await settle(pilot)
    assert table.selected_key() == key


def cell_values(table: PagedTable, key: str) -> list[str]:
    return [str(v) for v in table.get_row(key)]


async def api_apps(http, q: str | None = None) -> list[str]:
    response = await http.get("/api/v1/apps", params={"q": q} if q else {})
    assert response.status_code == 200
    return [a["slug"] for a in response.json()["data"]]


def apps_screen(pilot: Pilot) -> AppsScreen:
    screen = pilot.app.screen
    assert isinstance(screen, AppsScreen), screen
    return screen


def detail_screen(pilot: Pilot) -> AppDetailScreen:
    screen = pilot.app.screen
    assert isinstance(screen, AppDetailScreen), screen
    return screen


# -- the list -----------------------------------------------------------------------


async def test_rows_show_every_app_with_its_counts(service):
    token = service.mint()
    async with service.http(token) as http:
        expected = (await http.get("/api/v1/apps")).json()["data"]
    async with service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = apps_screen(pilot)
        table = screen.table
        assert list(table.items) == [a["slug"] for a in expected] == ["billing", "crm", "hr", "support", "wiki"]
        for app in expected:
            assert cell_values(table, app["slug"]) == [
                app["slug"], app["name"], str(app["role_count"]), str(app["member_count"]),
                str(app["active_key_count"]), app["description"],
            ]
        # crm: production and staging live, the leaked laptop key revoked.
        assert cell_values(table, "crm")[4] == "2"
        assert title(screen) == "Apps  5 apps"
        assert pilot.app.focused is table


async def test_filter_as_you_type_enter_keeps_escape_clears(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = apps_screen(pilot)
        table, field = screen.table, screen.filter_input
        assert not field.display

        await steps(pilot, "slash")
        assert field.display and pilot.app.focused is field

        # Each keystroke asks the service (no enter needed); the rows are its answer.
        await pilot.press("r")
        await until(pilot, lambda: table.query_text == "r" and not table.loading_page, "filter 'r'")
        assert list(table.items) == await api_apps(http, "r") == ["crm", "hr", "support"]
        await pilot.press("m")
        await until(pilot, lambda: table.query_text == "rm" and not table.loading_page, "filter 'rm'")
        assert list(table.items) == await api_apps(http, "rm") == ["crm"]

        # Enter keeps the filter and gives the list the keys back.
        await steps(pilot, "enter")
        assert not field.display
        assert pilot.app.focused is table
        assert table.query_text == "rm" and list(table.items) == ["crm"]
        assert "filter: rm" in title(screen)
        await steps(pilot, "down", "enter")  # the list answers keys again: enter opens the row
        assert detail_screen(pilot).slug == "crm"
        await steps(pilot, "escape")
        assert list(apps_screen(pilot).table.items) == ["crm"]  # still filtered on return

        # Escape clears it: every app is back.
        await steps(pilot, "escape")
        assert table.query_text is None and field.value == ""
        assert list(table.items) == await api_apps(http)
        assert len(table.items) == 5
        assert "filter" not in title(screen)

        # A filter matching nothing empties the list; escape while typing clears it too.
        await steps(pilot, "slash", "z")
        await until(pilot, lambda: table.query_text == "z" and not table.loading_page, "filter 'z'")
        assert table.row_count == 0 and await api_apps(http, "z") == []
        assert "0 apps" in title(screen)
        await steps(pilot, "escape")
        assert not field.display and field.value == "" and pilot.app.focused is table
        assert table.query_text is None and len(table.items) == 5


async def test_open_app_detail_switch_tabs_and_go_back(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = apps_screen(pilot).table
        await select_row(pilot, table, "crm")
        await steps(pilot, "enter")
        screen = detail_screen(pilot)
        assert screen.slug == "crm" and screen.active_tab == "roles"
        crm = (await http.get("/api/v1/apps/crm")).json()
        heading = title(screen)
        assert heading.startswith("App crm — CRM")
        assert f"{crm['role_count']} roles · {crm['member_count']} members · {crm['active_key_count']} active keys" in heading

        async def api(path: str, **params) -> list[dict]:
            response = await http.get(path, params={"limit": 100, **params})
            assert response.status_code == 200
            return response.json()["data"]

        expected = {
            "roles": [r["slug"] for r in await api("/api/v1/apps/crm/roles")],
            "permissions": [p["slug"] for p in await api("/api/v1/apps/crm/permissions")],
            "members": [m["email"] for m in await api("/api/v1/apps/crm/members")],
            "keys": [k["id"] for k in await api("/api/v1/keys", app="crm", kind="app")],
        }
        assert expected["roles"] == ["accounts-manager", "admin", "editor", "viewer"]
        assert len(expected["permissions"]) == 12 and expected["members"] and len(expected["keys"]) == 3

        assert list(screen.table("roles").items) == expected["roles"]
        for key, tab in (("2", "permissions"), ("3", "members"), ("4", "keys"), ("1", "roles")):
            await steps(pilot, key)
            assert screen.active_tab == tab
            assert list(screen.table(tab).items) == expected[tab]
            assert pilot.app.focused is screen.table(tab)  # the tab's list takes the keys at once

        # Filter inside a tab is per tab and server-side too.
        await steps(pilot, "2", "slash")
        await type_text(pilot, "deals")
        permissions = screen.table("permissions")
        await until(pilot, lambda: permissions.query_text == "deals" and not permissions.loading_page, "tab filter")
        assert list(permissions.items) == [p["slug"] for p in await api("/api/v1/apps/crm/permissions", q="deals")]
        assert list(permissions.items) == ["deals.delete", "deals.read", "deals.write"]
        await steps(pilot, "enter")
        assert pilot.app.focused is permissions and permissions.query_text == "deals"
        await steps(pilot, "escape")  # first escape clears the filter, the screen stays
        assert detail_screen(pilot) is screen and len(permissions.items) == 12

        await steps(pilot, "escape")
        back = apps_screen(pilot)
        assert back.table.selected_key() == "crm"
        assert pilot.app.focused is back.table


# -- create, edit, delete an app ---------------------------------------------------


async def test_create_app(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        # Escape cancels: nothing is created.
        await steps(pilot, "n")
        await type_text(pilot, "scratch")
        await steps(pilot, "escape")
        assert isinstance(pilot.app.screen, AppsScreen)
        assert (await http.get("/api/v1/apps/scratch")).status_code == 404

        await steps(pilot, "n")
        form = pilot.app.screen
        assert isinstance(form, AppForm)
        assert pilot.app.focused is form.query_one("#slug", Input)
        assert all(field.value == "" for field in form.query(Input))  # a fresh form
        await type_text(pilot, "payroll")
        await pilot.press("tab")
        await type_text(pilot, "Payroll")
        await pilot.press("tab")
        await type_text(pilot, "Payslips")
        await steps(pilot, "enter")

        screen = apps_screen(pilot)
        await until(pilot, lambda: "payroll" in screen.table.items, "the new row")
        assert cell_values(screen.table, "payroll") == ["payroll", "Payroll", "0", "0", "0", "Payslips"]
        response = await http.get("/api/v1/apps/payroll")
        assert response.status_code == 200
        assert response.json()["name"] == "Payroll"
        assert response.json()["description"] == "Payslips"
        assert await api_apps(http) == ["billing", "crm", "hr", "payroll", "support", "wiki"]


async def test_edit_app(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        table = apps_screen(pilot).table
        await select_row(pilot, table, "wiki")
        await steps(pilot, "e")
        form = pilot.app.screen
        assert isinstance(form, AppForm)
        slug, name, description = (form.query_one(f"#{i}", Input) for i in ("slug", "name", "description"))
        assert (slug.value, name.value, description.value) == ("wiki", "Wiki", "Internal documentation")
        assert slug.disabled  # a slug is an identity, not editable
        assert pilot.app.focused is name
        await clear_field(pilot)
        await steps(pilot, "enter")  # an empty name: refused, the form stays
        assert pilot.app.screen is form
        assert plain(form.query_one("#form-error", Static)).startswith("✗ name:")
        assert (await http.get("/api/v1/apps/wiki")).json()["name"] == "Wiki"
        await type_text(pilot, "Knowledge base")
        await steps(pilot, "ctrl+s")

        assert isinstance(pilot.app.screen, AppsScreen)
        assert cell_values(table, "wiki")[:2] == ["wiki", "Knowledge base"]
        api = (await http.get("/api/v1/apps/wiki")).json()
        assert api["name"] == "Knowledge base" and api["description"] == "Internal documentation"


async def test_delete_app_confirm_and_cancel_paths(service):
    token = service.mint()
    async with service.http(token) as http:
        assert (await http.post("/api/v1/apps", json={"slug": "empty", "name": "Empty"})).status_code == 201
        async with service.dashboard(token).run_test(size=SIZE) as pilot:
            await settle(pilot)
            table = apps_screen(pilot).table

            # No keys: the dialog names the app and warns of no revocation.
            await select_row(pilot, table, "empty")
            await steps(pilot, "d")
            text = " ".join(plain(s) for s in pilot.app.screen.query(Static))
            assert "Delete app empty?" in text and "revoked" not in text
            await steps(pilot, "y")
            await until(pilot, lambda: "empty" not in table.items, "empty gone")
            assert (await http.get("/api/v1/apps/empty")).status_code == 404

            # Live keys: the dialog says they will be revoked.
            await select_row(pilot, table, "crm")
            await steps(pilot, "d")
            dialog = pilot.app.screen
            assert isinstance(dialog, ConfirmScreen)
            text = " ".join(plain(s) for s in dialog.query(Static))
            assert "Delete app crm?" in text
            assert "2 active app keys will be revoked" in text
            assert pilot.app.focused is dialog.query_one("#cancel", Button)  # Cancel has the focus
            await steps(pilot, "enter")  # ... so a reflex enter cancels
            assert isinstance(pilot.app.screen, AppsScreen)
            assert (await http.get("/api/v1/apps/crm")).status_code == 200

            for cancel in ("n", "escape"):
                await steps(pilot, "d")
                assert isinstance(pilot.app.screen, ConfirmScreen)
                await steps(pilot, cancel)
                assert isinstance(pilot.app.screen, AppsScreen)
                assert (await http.get("/api/v1/apps/crm")).status_code == 200
            assert "crm" in table.items

            await steps(pilot, "d", "y")
            await until(pilot, lambda: "crm" not in table.items, "crm gone from the list")
            assert list(table.items) == ["billing", "hr", "support", "wiki"]
            assert (await http.get("/api/v1/apps/crm")).status_code == 404
            keys = (await http.get("/api/v1/keys", params={"status": "active", "kind": "app"})).json()["data"]
            assert not [k for k in keys if k["name"].startswith("crm-")]


# -- permissions and roles from app detail ------------------------------------------


async def open_crm(pilot: Pilot) -> AppDetailScreen:
    await settle(pilot)
    await select_row(pilot, apps_screen(pilot).table, "crm")
    await steps(pilot, "enter")
    return detail_screen(pilot)


async def test_create_and_delete_permission(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        screen = await open_crm(pilot)
        await steps(pilot, "2", "n")
        form = pilot.app.screen
        assert isinstance(form, PermissionForm)
        await type_text(pilot, "exports.run")
        await pilot.press("tab")
        await type_text(pilot, "Run exports")
        await steps(pilot, "enter")

        table = screen.table("permissions")
        await until(pilot, lambda: "exports.run" in table.items, "the new permission")
        assert cell_values(table, "exports.run") == ["exports.run", "Run exports"]
        permissions = (await http.get("/api/v1/apps/crm/permissions", params={"limit": 100})).json()["data"]
        assert {"slug": "exports.run", "description": "Run exports"}.items() <= next(
            p for p in permissions if p["slug"] == "exports.run"
        ).items()

        await select_row(pilot, table, "exports.run")
        await steps(pilot, "d")
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "Delete permission exports.run?" in " ".join(plain(s) for s in dialog.query(Static))
        await steps(pilot, "n")
        assert "exports.run" in table.items
        await steps(pilot, "d", "y")
        await until(pilot, lambda: "exports.run" not in table.items, "permission gone")
        permissions = (await http.get("/api/v1/apps/crm/permissions", params={"limit": 100})).json()["data"]
        assert "exports.run" not in [p["slug"] for p in permissions] and len(permissions) == 12


async def test_create_edit_delete_role_with_the_permission_picker(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        screen = await open_crm(pilot)
        assert screen.active_tab == "roles"
        await steps(pilot, "n")
        form = pilot.app.screen
        assert isinstance(form, RoleForm)
        picker = form.query_one("#permissions", SelectionList)
        crm_permissions = [p["slug"] for p in (await http.get("/api/v1/apps/crm/permissions")).json()["data"]]
        assert [picker.get_option_at_index(i).value for i in range(picker.option_count)] == crm_permissions
        assert picker.selected == []

        await type_text(pilot, "auditor")
        await pilot.press("tab")
        await type_text(pilot, "Auditor")
        await pilot.press("tab")
        await type_text(pilot, "Reads")
        await pilot.press("tab")
        assert pilot.app.focused is picker
        # accounts.delete, accounts.read: tick the second one only.
        await steps(pilot, "down", "space")
        assert picker.selected == [crm_permissions[1]] == ["accounts.read"]
        await steps(pilot, "ctrl+s")

        roles = screen.table("roles")
        await until(pilot, lambda: "auditor" in roles.items, "the new role")
        # The app's counts follow (title and the service agree).
        await until(pilot, lambda: "5 roles" in title(screen), "title counts")
        assert (await http.get("/api/v1/apps/crm")).json()["role_count"] == 5
        assert cell_values(roles, "auditor") == ["auditor", "Auditor", "0", "accounts.read"]
        role = (await http.get("/api/v1/apps/crm/roles/auditor")).json()
        assert (role["name"], role["description"], role["permissions"]) == ("Auditor", "Reads", ["accounts.read"])

        # Edit: the picker shows what the role holds; add one more.
        await select_row(pilot, roles, "auditor")
        await steps(pilot, "e")
        form = pilot.app.screen
        assert isinstance(form, RoleForm) and form.existing is not None
        picker = form.query_one("#permissions", SelectionList)
        assert picker.selected == ["accounts.read"]
        assert form.query_one("#slug", Input).disabled
        picker.focus()
        await settle(pilot)
        await select_option(pilot, picker, "deals.read")
        await steps(pilot, "space")
        assert sorted(picker.selected) == ["accounts.read", "deals.read"]
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: not isinstance(pilot.app.screen, RoleForm), "form closed")
        await until(pilot, lambda: cell_values(roles, "auditor")[3] == "accounts.read, deals.read", "row updated")
        role = (await http.get("/api/v1/apps/crm/roles/auditor")).json()
        assert role["permissions"] == ["accounts.read", "deals.read"]

        # Enter on a role row also edits it; escape leaves it unchanged.
        await steps(pilot, "enter")
        assert isinstance(pilot.app.screen, RoleForm)
        await steps(pilot, "escape")
        assert detail_screen(pilot) is screen

        # Delete.
        await steps(pilot, "d")
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "Delete role auditor?" in " ".join(plain(s) for s in dialog.query(Static))
        await steps(pilot, "y")
        await until(pilot, lambda: "auditor" not in roles.items, "role gone")
        assert (await http.get("/api/v1/apps/crm/roles/auditor")).status_code == 404
        assert list(roles.items) == ["accounts-manager", "admin", "editor", "viewer"]
        await until(pilot, lambda: "4 roles" in title(screen), "title counts")


async def select_option(pilot: Pilot, picker: SelectionList, value: str) -> None:
    index = next(i for i in range(picker.option_count) if picker.get_option_at_index(i).value == value)
    while picker.highlighted != index:
        await pilot.press("down" if (picker.highlighted or 0) < index else "up")
    await settle(pilot)


# -- bad input: the form says why, keeps what was typed, creates nothing -------------


async def fill_new_app(pilot: Pilot, slug: str, name: str, description: str) -> AppForm:
    await steps(pilot, "n")
    form = pilot.app.screen
    assert isinstance(form, AppForm)
    await type_text(pilot, slug)
    await pilot.press("tab")
    await type_text(pilot, name)
    await pilot.press("tab")
    await type_text(pilot, description)
    return form


def form_values(form) -> dict[str, str]:
    return {field.id: field.value for field in form.query(Input)}


async def test_invalid_slug_shows_the_contract_error_and_keeps_the_form(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        form = await fill_new_app(pilot, "Bad Slug!", "Bad", "kept")
        await steps(pilot, "enter")
        assert pilot.app.screen is form  # still open
        # The message is the one the service gives for the same body (422).
        refused = await http.post("/api/v1/apps", json={"slug": "Bad Slug!", "name": "Bad"})
        assert refused.status_code == 422
        assert plain(form.query_one("#form-error", Static)) == f"✗ {refused.json()['error']['message']}"
        assert form_values(form) == {"slug": "Bad Slug!", "name": "Bad", "description": "kept"}
        assert await api_apps(http) == ["billing", "crm", "hr", "support", "wiki"]

        # Fix the slug in place: the rest of what was typed is still used.
        form.query_one("#slug", Input).focus()
        await settle(pilot)
        await clear_field(pilot)
        await type_text(pilot, "good-slug")
        await steps(pilot, "ctrl+s")
        assert isinstance(pilot.app.screen, AppsScreen)
        created = (await http.get("/api/v1/apps/good-slug")).json()
        assert (created["name"], created["description"]) == ("Bad", "kept")


async def test_duplicate_slug_shows_the_409_and_keeps_the_form(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        form = await fill_new_app(pilot, "crm", "Second CRM", "dup")
        await steps(pilot, "ctrl+s")
        assert pilot.app.screen is form
        assert plain(form.query_one("#form-error", Static)) == "✗ app 'crm' already exists"
        assert form_values(form) == {"slug": "crm", "name": "Second CRM", "description": "dup"}
        assert not form.query_one("#save", Button).disabled  # can try again
        crm = (await http.get("/api/v1/apps/crm")).json()
        assert crm["name"] == "CRM"
        assert await api_apps(http) == ["billing", "crm", "hr", "support", "wiki"]
        await steps(pilot, "escape")
        assert apps_screen(pilot).table.row_count == 5


async def test_duplicate_role_and_bad_permission_slug_keep_their_forms(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        screen = await open_crm(pilot)
        await steps(pilot, "n")
        form = pilot.app.screen
        assert isinstance(form, RoleForm)
        await type_text(pilot, "admin")
        await pilot.press("tab")
        await type_text(pilot, "Another admin")
        await steps(pilot, "ctrl+s")
        assert pilot.app.screen is form
        error = plain(form.query_one("#form-error", Static))
        refused = await http.post("/api/v1/apps/crm/roles", json={"slug": "admin", "name": "Another admin"})
        assert refused.status_code == 409 and error == f"✗ {refused.json()['error']['message']}"
        assert form_values(form)["name"] == "Another admin"
        assert (await http.get("/api/v1/apps/crm/roles/admin")).json()["name"] == "Administrator"
        await steps(pilot, "escape")

        await steps(pilot, "2", "n")
        form = pilot.app.screen
        assert isinstance(form, PermissionForm)
        await type_text(pilot, "Has Spaces")
        await steps(pilot, "enter")
        assert pilot.app.screen is form
        assert plain(form.query_one("#form-error", Static)).startswith("✗ slug:")
        assert form_values(form)["slug"] == "Has Spaces"
        await steps(pilot, "escape")
        assert len(screen.table("permissions").items) == 12
        permissions = (await http.get("/api/v1/apps/crm/permissions", params={"limit": 100})).json()["data"]
        assert len(permissions) == 12
