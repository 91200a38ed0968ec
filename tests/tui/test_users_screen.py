"""The Users screen and a user's detail, driven by keys; results checked on screen and through the API.

Every test runs a dashboard on the demo organisation (embedded service, clock
frozen) signed in as the embedded operator, and checks what the operator sees
(rows, title, toasts, modals) and what the service now holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable

from textual.pilot import Pilot
from textual.widgets import Checkbox, DataTable, Input, Select, Static

from pepyhat_tui.screens.confirm import ConfirmScreen
from pepyhat_tui.screens.grant_form import GrantForm
from pepyhat_tui.screens.user_detail import UserDetailScreen
from pepyhat_tui.screens.user_form import UserForm
from pepyhat_tui.screens.users import UsersScreen
from tests.tui.support import FIXED, keys, open_users, plain, record_toasts, title, type_text, until

SIZE = (120, 36)


# -- helpers -------------------------------------------------------------------


def column(table: DataTable, key: str) -> list[str]:
    return [str(cell) for cell in table.get_column(key)]


def row(table: DataTable, key: str) -> list[str]:
    return [str(cell) for cell in table.get_row(key)]


async def filter_to(pilot: Pilot, screen: UsersScreen, text: str) -> None:
    """`/`, type, enter: the filter is kept and the list holds the matches."""
    await keys(pilot, "slash")
    await type_text(pilot, text)
    await keys(pilot, "enter")
    await until(pilot, lambda: screen.table.query_text == text and not screen.table.loading_page, f"filter {text!r}")


async def api_users(http, **params) -> list[dict]:
    response = await http.get("/api/v1/users", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def api_access(http, email: str) -> dict:
    response = await http.get(f"/api/v1/users/{email}/access")
    assert response.status_code == 200, response.text
    return response.json()


def grant_keys(access: dict) -> set[str]:
    return {f"{a['app']}/{g['role']}" for a in access["apps"] for g in a["grants"]}


# -- the list --------------------------------------------------------------------


async def test_filter_searches_on_the_server_enter_keeps_escape_clears(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        table = screen.table
        first_page = set(table.items)
        assert len(first_page) == 100 and table.has_more  # 300 demo users, one page shown
        expected = [u["email"] for u in await api_users(http, q="zoe")]
        assert expected and not set(expected) & first_page  # only the server can find them

        await keys(pilot, "slash")
        assert screen.filter_input.display and app.focused is screen.filter_input
        await pilot.press(*"zoe")
        # Filters as you type (debounced): no enter needed for the rows to narrow.
        await until(pilot, lambda: column(table, "email") == expected, "rows narrowed to the 'zoe' users")

        await keys(pilot, "enter")
        assert not screen.filter_input.display
        assert app.focused is table
        assert table.query_text == "zoe"
        assert column(table, "email") == expected
        assert "filter: zoe" in title(screen)
        assert f"{len(expected)} user{'' if len(expected) == 1 else 's'}" in title(screen)

        # Escape clears the kept filter (and does not leave the screen).
        await keys(pilot, "escape")
        await until(pilot, lambda: table.query_text is None and set(table.items) == first_page, "the full list back")
        assert not screen.filter_input.display and screen.filter_input.value == ""
        assert "filter:" not in title(screen)
        assert app.screen is screen

        # A name matches too (the service searches email and name); escape while typing clears it.
        okafor = [u["email"] for u in await api_users(http, q="Okafor")]
        assert len(okafor) >= 2
        await keys(pilot, "slash")
        await pilot.press(*"Okafor")
        await until(pilot, lambda: column(table, "email") == okafor, "rows for 'Okafor'")
        await keys(pilot, "escape")
        await until(pilot, lambda: table.query_text is None and set(table.items) == first_page, "the full list back")
        assert not screen.filter_input.display and app.focused is table
        assert app.screen is screen


async def test_active_filter_cycles_all_active_deactivated(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        table = screen.table
        assert "(all)" in title(screen)
        deactivated = [u["email"] for u in await api_users(http, active="false")]
        assert deactivated

        await keys(pilot, "a")
        await until(pilot, lambda: screen.pane.active_filter is True and not table.loading_page, "active only")
        assert "(active only)" in title(screen)
        assert set(column(table, "status")) == {"active"}
        assert not set(deactivated) & set(table.items)

        await keys(pilot, "a")
        await until(pilot, lambda: column(table, "email") == deactivated, "deactivated only")
        assert "(deactivated only)" in title(screen)
        assert set(column(table, "status")) == {"inactive"}
        assert f"{len(deactivated)} users" in title(screen)

        # The active filter and the search combine, both on the server.
        await filter_to(pilot, screen, "novak")
        both = [u["email"] for u in await api_users(http, active="false", q="novak")]
        assert both and column(table, "email") == both

        await keys(pilot, "escape", "a")
        first_page = [u["email"] for u in (await http.get("/api/v1/users", params={"limit": 100})).json()["data"]]
        await until(pilot, lambda: screen.pane.active_filter is None and column(table, "email") == first_page, "all users")
        assert "(all)" in title(screen)


async def test_create_users(service):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        await keys(pilot, "n")
        form = app.screen
        assert isinstance(form, UserForm)
        assert app.focused is form.query_one("#email", Input)
        await type_text(pilot, "Ab.C@Ex.io")
        await keys(pilot, "tab")
        await type_text(pilot, "Ab C")
        await keys(pilot, "enter")  # enter in a field submits
        await until(pilot, lambda: app.screen is screen, "the form to close")
        await until(pilot, lambda: "ab.c@ex.io" in screen.table.items, "the new row")

        assert ("", "Created user ab.c@ex.io", "information") in toasts
        assert row(screen.table, "ab.c@ex.io") == ["ab.c@ex.io", "Ab C", "active", "just now"]
        user = (await http.get("/api/v1/users/ab.c@ex.io")).json()
        assert user["name"] == "Ab C" and user["active"] is True

        # Created deactivated: untick Active, save with ctrl+s.
        await keys(pilot, "n")
        form = app.screen
        await type_text(pilot, "aa@ex.io")
        await keys(pilot, "tab", "tab")
        assert app.focused is form.query_one("#active", Checkbox)
        await keys(pilot, "space")
        assert form.query_one("#active", Checkbox).value is False
        await keys(pilot, "ctrl+s")
        await until(pilot, lambda: "aa@ex.io" in screen.table.items, "the second new row")
        assert row(screen.table, "aa@ex.io")[1:3] == ["", "inactive"]
        user = (await http.get("/api/v1/users/aa@ex.io")).json()
        assert user["active"] is False and user["name"] == ""


async def test_edit_user_name_and_escape_cancels(service):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        await keys(pilot, "down")  # the second user
        email = screen.table.selected().email
        old_name = screen.table.selected().name

        # Escape leaves the form and changes nothing.
        await keys(pilot, "e", "ctrl+a", "ctrl+k")
        await type_text(pilot, "X")
        await keys(pilot, "escape")
        assert app.screen is screen
        assert row(screen.table, email)[1] == old_name
        assert (await http.get(f"/api/v1/users/{email}")).json()["name"] == old_name

        await keys(pilot, "e")
        form = app.screen
        assert isinstance(form, UserForm)
        assert form.query_one("#email", Input).value == email and form.query_one("#email", Input).disabled
        assert form.query_one("#name", Input).value == old_name
        assert app.focused is form.query_one("#name", Input)
        await keys(pilot, "ctrl+a", "ctrl+k")
        await type_text(pilot, "Bo Li")
        await keys(pilot, "enter")
        await until(pilot, lambda: app.screen is screen, "the form to close")

        assert ("", f"Saved user {email}", "information") in toasts
        await until(pilot, lambda: row(screen.table, email)[1] == "Bo Li", "the row redrawn")
        assert screen.table.selected().email == email  # the cursor stayed on the edited user
        user = (await http.get(f"/api/v1/users/{email}")).json()
        assert user["name"] == "Bo Li" and user["active"] is True


async def test_deactivate_asks_first_and_reactivate_does_not(service):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        email = screen.table.selected().email
        name = screen.table.selected().name
        assert row(screen.table, email)[2] == "active"

        # x asks: the dialog names the user and what happens; Cancel has the focus.
        await keys(pilot, "x")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert str(dialog.heading) == f"Deactivate user {email}?"
        text = " ".join(plain(line) for line in dialog.query(".dialog-line"))
        assert email in text and name in text and "all access in every app" in text and "grants are kept" in text
        assert str(dialog.query_one("#confirm").label) == "Deactivate"
        assert app.focused is dialog.query_one("#cancel")
        for cancel in ("enter", "n", "escape"):  # the focused Cancel, No, Escape: nothing changes
            if app.screen is not dialog:
                await keys(pilot, "x")
                dialog = app.screen
                assert isinstance(dialog, ConfirmScreen)
            await keys(pilot, cancel)
            assert app.screen is screen, cancel
            assert (await http.get(f"/api/v1/users/{email}")).json()["active"] is True, cancel
        assert row(screen.table, email)[2] == "active"
        assert not any("Deactivated" in message for _, message, _ in toasts)

        await keys(pilot, "x", "y")
        await until(pilot, lambda: row(screen.table, email)[2] == "inactive", "the row marked inactive")
        assert ("", f"Deactivated {email}", "information") in toasts
        assert (await http.get(f"/api/v1/users/{email}")).json()["active"] is False
        # Deactivated users keep their grants (but get no access).
        assert (await api_access(http, email))["apps"]

        await keys(pilot, "x")  # reactivating restores, destroys nothing: no dialog
        assert app.screen is screen
        await until(pilot, lambda: row(screen.table, email)[2] == "active", "the row marked active")
        assert ("", f"Reactivated {email}", "information") in toasts
        assert (await http.get(f"/api/v1/users/{email}")).json()["active"] is True


async def test_delete_user_after_a_confirmation(service):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        email = screen.table.selected().email
        assert (await api_access(http, email))["apps"]  # the grants go too

        await keys(pilot, "d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert email in dialog.heading
        assert any(email in plain(line) for line in dialog.query(".dialog-line"))
        assert app.focused is dialog.query_one("#cancel")  # Cancel has the focus
        await keys(pilot, "enter")  # enter presses the focused Cancel
        assert app.screen is screen
        await keys(pilot, "d", "n")
        assert app.screen is screen
        assert email in screen.table.items
        assert (await http.get(f"/api/v1/users/{email}")).status_code == 200

        await keys(pilot, "d")
        assert isinstance(app.screen, ConfirmScreen)
        await keys(pilot, "y")
        await until(pilot, lambda: email not in screen.table.items, "the row gone")
        assert app.screen is screen
        assert ("", f"Deleted user {email}", "information") in toasts
        assert (await http.get(f"/api/v1/users/{email}")).status_code == 404
        assert email not in {u["email"] for u in await api_users(http, q=email.split("@")[0])}


async def test_delete_on_a_red_profile_needs_the_email_typed(service):
    app = service.dashboard(color="red")
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        email = "a@x.io"  # sorts first, short to type
        assert (await http.post("/api/v1/users", json={"email": email, "name": "A"})).status_code == 201
        screen = await open_users(pilot)
        assert screen.table.selected().email == email
        await keys(pilot, "d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        confirm = dialog.query_one("#confirm")
        typed = dialog.query_one("#typed", Input)
        assert confirm.disabled
        await keys(pilot, "y")  # a stray y does not confirm: typing, it lands where the name is typed
        assert app.screen is dialog and app.focused is typed and typed.value == "y"
        assert (await http.get(f"/api/v1/users/{email}")).status_code == 200

        await keys(pilot, "ctrl+u")
        await type_text(pilot, email)
        assert typed.value == email and not confirm.disabled
        await keys(pilot, "tab", "tab")
        assert app.focused is confirm
        await keys(pilot, "enter")
        await until(pilot, lambda: email not in screen.table.items, "the row gone")
        assert (await http.get(f"/api/v1/users/{email}")).status_code == 404


async def test_red_profile_deactivate_needs_the_email_and_escape_closes(service):
    app = service.dashboard(color="red")
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        email = "a@x.io"  # sorts first, short to type
        assert (await http.post("/api/v1/users", json={"email": email, "name": "A"})).status_code == 201
        screen = await open_users(pilot)
        assert screen.table.selected().email == email

        async def still_active() -> bool:
            return (await http.get(f"/api/v1/users/{email}")).json()["active"] is True

        # Escape closes the dialog wherever the focus is: on Cancel, in the input empty,
        # half typed, or with the email typed and confirm enabled.
        for typed_text in (None, "", "a@x", email):
            await keys(pilot, "x")
            dialog = app.screen
            assert isinstance(dialog, ConfirmScreen) and email in dialog.heading
            typed, confirm = dialog.query_one("#typed", Input), dialog.query_one("#confirm")
            assert confirm.disabled
            if typed_text is not None:
                await keys(pilot, "shift+tab")  # from Cancel back to the input
                assert app.focused is typed
                await type_text(pilot, typed_text)
                assert confirm.disabled is (typed_text != email)
            await keys(pilot, "escape")
            assert app.screen is screen, typed_text
            assert await still_active(), typed_text
        assert str(screen.table.get_cell(email, "status")) == "active"

        # A stray y does not confirm; the email typed does.
        await keys(pilot, "x", "y")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen) and await still_active()
        assert dialog.query_one("#typed", Input).value == "y"
        await keys(pilot, "ctrl+u")
        await type_text(pilot, email)
        await keys(pilot, "tab", "tab")
        assert app.focused is dialog.query_one("#confirm")
        await keys(pilot, "enter")
        assert app.screen is screen
        await until(pilot, lambda: str(screen.table.get_cell(email, "status")) == "inactive", "the row deactivated")
        assert not await still_active()


async def test_red_profile_escape_closes_a_delete_dialog_from_the_input(service):
    app = service.dashboard(color="red")
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_users(pilot)
        email = screen.table.selected().email
        await keys(pilot, "d", "shift+tab")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen) and app.focused is dialog.query_one("#typed", Input)
        await type_text(pilot, email)
        assert not dialog.query_one("#confirm").disabled
        await keys(pilot, "escape")
        assert app.screen is screen
        assert (await http.get(f"/api/v1/users/{email}")).status_code == 200
        assert email in screen.table.items


# -- the detail ------------------------------------------------------------------


async def _find_user(http, wanted: Callable[[dict], bool]) -> dict:
    for user in await api_users(http, active="true"):
        access = await api_access(http, user["email"])
        if wanted(access):
            return access
    raise AssertionError("no such demo user")


async def open_first_user(pilot: Pilot, http) -> tuple[UserDetailScreen, dict]:
    """Enter on the first row of Users; the user's access as the API gives it."""
    screen = await open_users(pilot)
    email = screen.table.selected().email
    await keys(pilot, "enter")
    detail = pilot.app.screen
    assert isinstance(detail, UserDetailScreen) and detail.email == email
    await until(pilot, lambda: detail.access is not None, "the user's access")
    return detail, await api_access(http, email)


def search_text(select: Select, value: str) -> str:
    """The fewest characters of ``value`` that pick its option when typed into the open Select.

    The Select's own search: the option whose label holds the text earliest wins (the
    first such option on a tie), and the prompt ("choose an app") is an option too.
    """
    overlay = select.query_one("SelectOverlay")
    labels = [str(option.prompt).lower() for option in overlay.options]
    values = [value for _, value in select._options]
    for n in range(1, len(value) + 1):
        typed = value[:n].lower()
        hits = [(label.find(typed), i) for i, label in enumerate(labels) if typed in label]
        if values[min(hits)[1]] == value:
            return value[:n]
    return value


def shown_grants(detail: UserDetailScreen) -> list[str]:
    """``app/role`` of each row, in the table's order."""
    return ["/".join(detail.grant_rows[key.value]) for key in detail.query_one("#access", DataTable).rows]


def grant_row(detail: UserDetailScreen, grant: str) -> list[str]:
    """The cells of the row showing ``app/role``."""
    (key,) = [k for k, shown in detail.grant_rows.items() if "/".join(shown) == grant]
    return row(detail.query_one("#access", DataTable), key)


async def choose(pilot: Pilot, select: Select, value: str) -> None:
    """Open a Select from the keyboard, type to find the option, take it."""
    assert pilot.app.focused is select
    await keys(pilot, "enter")
    assert select.expanded
    await type_text(pilot, search_text(select, value))
    await keys(pilot, "enter")
    assert select.value == value


async def test_detail_shows_access_in_every_app(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        # Someone with roles in several apps, one of them expired (it counts as absent).
        access = await _find_user(
            http, lambda a: len(a["apps"]) >= 2 and any(g["expired"] for x in a["apps"] for g in x["grants"])
        )
        email = access["email"]
        screen = await open_users(pilot)
        await filter_to(pilot, screen, email.split("@")[0] + "@")
        assert column(screen.table, "email") == [email]
        await keys(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, UserDetailScreen) and detail.email == email
        await until(pilot, lambda: detail.access is not None, "the user's access")

        assert set(shown_grants(detail)) == grant_keys(access)
        for app_access in access["apps"]:
            for grant in app_access["grants"]:
                cells = grant_row(detail, f"{app_access['app']}/{grant['role']}")
                assert cells[:3] == [app_access["app"], grant["role"], grant["granted_by"]]
                assert cells[3].endswith("ago")
                if grant["expired"]:
                    assert cells[4] == "expired" and cells[5] == ""
                else:
                    assert cells[5] == ", ".join(app_access["permissions"])
        live = sum(len(a["roles"]) for a in access["apps"])
        heading = title(detail)
        assert email in heading and access["name"] in heading
        roles = f"{live} live role" + ("" if live == 1 else "s")
        apps = f"{len(access['apps'])} app" + ("" if len(access["apps"]) == 1 else "s")
        assert f"{roles} in {apps}" in heading

        await keys(pilot, "escape")
        assert app.screen is screen and screen.table.query_text == email.split("@")[0] + "@"


async def test_grant_roles_with_and_without_an_expiry(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        detail, access = await open_first_user(pilot, http)
        email = access["email"]
        held = {a["app"] for a in access["apps"]}
        apps = [a["slug"] for a in (await http.get("/api/v1/apps")).json()["data"]]
        first_app, second_app = [a for a in apps if a not in held][:2]
        first_roles = [r["slug"] for r in (await http.get(f"/api/v1/apps/{first_app}/roles")).json()["data"]]
        second_roles = [r["slug"] for r in (await http.get(f"/api/v1/apps/{second_app}/roles")).json()["data"]]
        first_role, second_role = first_roles[-1], second_roles[0]

        # Without an expiry.
        await keys(pilot, "g")
        form = app.screen
        assert isinstance(form, GrantForm) and email in form.heading
        app_select, role_select = form.query_one("#app", Select), form.query_one("#role", Select)
        await until(pilot, lambda: len(app_select._options) > 1, "the apps to choose from")
        await choose(pilot, app_select, first_app)
        assert app_select.value == first_app
        assert not isinstance(role_select.value, str)  # no role yet
        await until(pilot, lambda: len(role_select._options) > 1, "the roles of the app")
        await keys(pilot, "tab")
        await choose(pilot, role_select, first_role)
        assert role_select.value == first_role
        await keys(pilot, "tab")
        assert app.focused is form.query_one("#expires", Input)
        await keys(pilot, "enter")  # expiry left empty: grant for good
        await until(pilot, lambda: app.screen is detail and f"{first_app}/{first_role}" in shown_grants(detail),
                    "the first grant in the detail")
        assert grant_row(detail, f"{first_app}/{first_role}")[:5] == [first_app, first_role, "tester (embedded)", "just now", "—"]

        # With an expiry, typed as a duration.
        await keys(pilot, "g")
        form = app.screen
        app_select, role_select = form.query_one("#app", Select), form.query_one("#role", Select)
        await until(pilot, lambda: len(app_select._options) > 1, "the apps to choose from")
        await choose(pilot, app_select, second_app)
        await until(pilot, lambda: len(role_select._options) > 1, "the roles of the app")
        await keys(pilot, "tab")
        await choose(pilot, role_select, second_role)
        await keys(pilot, "tab")
        await type_text(pilot, "2w")
        await keys(pilot, "enter")
        await until(pilot, lambda: app.screen is detail and f"{second_app}/{second_role}" in shown_grants(detail),
                    "the second grant in the detail")
        assert grant_row(detail, f"{second_app}/{second_role}")[4] == "in 14d"
        assert f"{len(access['apps']) + 2} apps" in title(detail)

        after = await api_access(http, email)
        assert grant_keys(after) == grant_keys(access) | {f"{first_app}/{first_role}", f"{second_app}/{second_role}"}
        by_app = {a["app"]: a for a in after["apps"]}
        first = next(g for g in by_app[first_app]["grants"] if g["role"] == first_role)
        second = next(g for g in by_app[second_app]["grants"] if g["role"] == second_role)
        assert first["expires_at"] is None and first["granted_by"] == "tester (embedded)"
        assert datetime.fromisoformat(second["expires_at"]) == FIXED + timedelta(weeks=2)
        assert first_role in by_app[first_app]["roles"] and second_role in by_app[second_app]["roles"]
        members = (await http.get(f"/api/v1/apps/{first_app}/members", params={"role": first_role, "q": email})).json()
        assert [m["email"] for m in members["data"]] == [email]


async def test_remove_a_role(service):
    app = service.dashboard()
    toasts = record_toasts(app)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        # The first user gets a second role first, so there is a row to move to.
        first = (await api_users(http))[0]["email"]
        held = {a["app"] for a in (await api_access(http, first))["apps"]}
        other = next(a["slug"] for a in (await http.get("/api/v1/apps")).json()["data"] if a["slug"] not in held)
        role = (await http.get(f"/api/v1/apps/{other}/roles")).json()["data"][0]["slug"]
        assert (await http.put(f"/api/v1/apps/{other}/members/{first}/roles/{role}")).status_code == 200
        detail, access = await open_first_user(pilot, http)
        email = access["email"]
        shown = shown_grants(detail)
        victim = shown[-1]
        victim_app, _, victim_role = victim.partition("/")
        await keys(pilot, *["down"] * (len(shown) - 1))
        assert detail.selected_grant() == (victim_app, victim_role)

        await keys(pilot, "d")
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert victim_role in dialog.heading and email in dialog.heading
        assert victim_app in plain(dialog.query_one(".dialog-line", Static))
        await keys(pilot, "y")
        await until(pilot, lambda: app.screen is detail and victim not in shown_grants(detail), "the row gone")
        assert ("", f"Removed {victim_role} in {victim_app}", "information") in toasts
        assert set(shown_grants(detail)) == set(shown) - {victim}

        after = await api_access(http, email)
        assert grant_keys(after) == grant_keys(access) - {victim}
        members = (await http.get(f"/api/v1/apps/{victim_app}/members", params={"q": email})).json()["data"]
        assert all(victim_role not in [g["role"] for g in m["grants"]] for m in members)


async def test_detail_deactivate_keeps_grants_and_the_list_follows(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        detail, access = await open_first_user(pilot, http)
        email = access["email"]
        assert access["apps"]
        assert "deactivated" not in title(detail)

        await keys(pilot, "x")
        assert isinstance(app.screen, ConfirmScreen) and email in app.screen.heading
        await keys(pilot, "escape")
        assert app.screen is detail and (await http.get(f"/api/v1/users/{email}")).json()["active"] is True
        await keys(pilot, "x", "y")
        await until(pilot, lambda: "deactivated: no access anywhere" in title(detail), "the deactivated title")
        assert "inactive" in title(detail)
        after = await api_access(http, email)
        assert after["active"] is False
        assert grant_keys(after) == grant_keys(access)  # grants kept
        assert set(shown_grants(detail)) == grant_keys(access)

        # Edit from the detail too: the name, kept at its end.
        await keys(pilot, "e")
        form = app.screen
        assert isinstance(form, UserForm) and app.focused is form.query_one("#name", Input)
        await keys(pilot, "end", *" Jr", "enter")
        await until(pilot, lambda: app.screen is detail and f"{access['name']} Jr" in title(detail), "the new name")
        assert (await http.get(f"/api/v1/users/{email}")).json()["name"] == f"{access['name']} Jr"

        # Back on the list, the row shows the user as they are now.
        await keys(pilot, "escape")
        screen = app.screen
        assert isinstance(screen, UsersScreen)
        await until(pilot, lambda: row(screen.table, email)[1:3] == [f"{access['name']} Jr", "inactive"],
                    "the list row as the user is now")
