"""Getting around without a mouse: `:` go-to, `?` help, ctrl+p palette, q, binding ids, 80x24."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.binding import Binding
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Footer, Input, Static, Tabs
from textual.widgets._footer import FooterKey

import pepyhat_tui.panes
import pepyhat_tui.screens
import pepyhat_tui.widgets
from pepyhat_tui.actions import ACTIONS, expand_keymap
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.screens.app_detail import AppDetailScreen
from pepyhat_tui.screens.app_form import AppForm
from pepyhat_tui.screens.apps import AppsScreen
from pepyhat_tui.screens.goto import GotoScreen
from pepyhat_tui.screens.help import HelpScreen
from pepyhat_tui.screens.keys import KeysScreen
from pepyhat_tui.screens.role_form import RoleForm
from pepyhat_tui.screens.user_detail import UserDetailScreen
from pepyhat_tui.screens.users import UsersScreen
from tests.tui.support import goto, plain, settle, steps, until

SIZE = (120, 36)
SMALL = (80, 24)


# -- `:` go to ----------------------------------------------------------------------


async def test_goto_completes_with_tab_and_switches_screens(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SIZE) as pilot:
        app = pilot.app
        await steps(pilot, "colon")
        prompt = app.screen
        assert isinstance(prompt, GotoScreen)
        field = prompt.query_one("#goto-input", Input)
        assert app.focused is field
        await pilot.press("u", "s")
        await until(pilot, lambda: field._suggestion == "users", "the completion")
        await steps(pilot, "tab")
        assert field.value == "users" and app.screen is prompt  # completed, not yet gone
        await steps(pilot, "enter")
        screen = app.screen
        assert isinstance(screen, UsersScreen) and app.current_mode == "users"
        users = (await http.get("/api/v1/users", params={"limit": 100})).json()["data"]
        assert list(screen.table.items) == [u["email"] for u in users]

        # A unique prefix is enough without completing it.
        await goto(pilot, "k")
        assert isinstance(app.screen, KeysScreen) and app.current_mode == "keys"
        assert len(app.screen.table.items) == len((await http.get("/api/v1/keys")).json()["data"])
        await goto(pilot, "apps")
        assert isinstance(app.screen, AppsScreen) and app.current_mode == "apps"
        assert len(app.screen.table.items) == 5

        # An unknown name: the prompt says so and stays; escape leaves things as they were.
        before = app.screen
        await steps(pilot, "colon")
        await pilot.press(*"zzz")
        await steps(pilot, "enter")
        prompt = app.screen
        assert isinstance(prompt, GotoScreen)
        assert "no screen 'zzz'" in plain(prompt.query_one("#goto-error", Static))
        await steps(pilot, "escape")
        assert app.screen is before and app.current_mode == "apps"


async def test_goto_with_an_argument_opens_the_app(service):
    token = service.mint()
    async with service.dashboard(token).run_test(size=SIZE) as pilot:
        await goto(pilot, "users")
        await goto(pilot, "apps crm")
        screen = pilot.app.screen
        assert isinstance(screen, AppDetailScreen) and screen.slug == "crm"
        assert pilot.app.current_mode == "apps"
        assert list(screen.table("roles").items) == ["accounts-manager", "admin", "editor", "viewer"]
        await steps(pilot, "escape")
        assert isinstance(pilot.app.screen, AppsScreen)


# -- `?` help --------------------------------------------------------------------------


def help_rows(pilot: Pilot) -> list[tuple[str, str]]:
    screen = pilot.app.screen
    assert isinstance(screen, HelpScreen)
    table = screen.query_one("#help-keys", DataTable)
    return [tuple(str(c) for c in table.get_row_at(i)[:2]) for i in range(table.row_count)]


async def test_help_lists_the_current_screens_keys(service):
    token = service.mint()
    async with service.dashboard(token).run_test(size=SIZE) as pilot:
        await steps(pilot, "question_mark")
        rows = help_rows(pilot)
        for row in [("n", "New"), ("e", "Edit"), ("d", "Delete"), ("/", "Filter"), ("⏎", "Open"),
                    ("^r", "Refresh"), (":", "Go to"), ("?", "Help"), ("q", "Quit"), ("^p", "Palette")]:
            assert row in rows
        assert "Roles" not in [description for _, description in rows]  # detail-only keys are not listed
        # Apps is where the mode starts: escape has nowhere to go back to, so it is not listed.
        assert "Back" not in [description for _, description in rows]
        assert plain(pilot.app.screen.query(Static).first()) == "Help — Apps"
        await steps(pilot, "escape")
        assert isinstance(pilot.app.screen, AppsScreen)

        await steps(pilot, "enter", "question_mark")
        rows = help_rows(pilot)
        for row in [("1", "Roles"), ("2", "Permissions"), ("3", "Members"), ("4", "Keys"), ("n", "New"), ("e", "Edit"),
                    ("esc", "Back")]:
            assert row in rows
        assert plain(pilot.app.screen.query(Static).first()) == "Help — App billing"
        await steps(pilot, "question_mark")  # `?` again closes it too
        assert isinstance(pilot.app.screen, AppDetailScreen)

        # Help follows the live bindings: on Members there is no edit.
        await steps(pilot, "3", "question_mark")
        rows = help_rows(pilot)
        assert ("e", "Edit") not in rows and ("n", "New") in rows
        await steps(pilot, "escape")
        assert isinstance(pilot.app.screen, AppDetailScreen)

        await goto(pilot, "users")
        await steps(pilot, "question_mark")
        rows = help_rows(pilot)
        assert ("x", "(De)activate") in rows and ("a", "Active filter") in rows
        await steps(pilot, "escape")
        assert isinstance(pilot.app.screen, UsersScreen)


# -- ctrl+p palette ---------------------------------------------------------------------


async def palette_entries(pilot: Pilot) -> list[str]:
    await steps(pilot, "ctrl+p")
    palette = pilot.app.screen
    assert isinstance(palette, CommandPalette)
    commands = palette.query_one(CommandList)
    await until(pilot, lambda: commands.option_count > 0, "palette entries")
    return [commands.get_option_at_index(i).prompt.plain.splitlines()[0] for i in range(commands.option_count)]


async def test_palette_holds_the_screens_actions_and_runs_them(service):
    token = service.mint()
    async with service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        entries = await palette_entries(pilot)
        for name in ["New", "Edit", "Delete", "Filter", "Open", "Refresh", "Go to", "Help", "Quit",
                     "Go to Apps", "Go to Users", "Go to Keys"]:
            assert name in entries
        assert "Roles" not in entries and "Back" not in entries  # nowhere to go back to from Apps

        # Run one: type its name, enter.
        await pilot.press(*"new")
        await until(pilot, lambda: str(pilot.app.screen.query_one(CommandList).get_option_at_index(0).prompt.plain).startswith("New"), "search")
        await steps(pilot, "enter")
        assert isinstance(pilot.app.screen, AppForm)
        await steps(pilot, "escape")

        await steps(pilot, "enter")  # app detail: its tabs are palette entries too
        entries = await palette_entries(pilot)
        for name in ["Roles", "Permissions", "Members", "Keys", "New", "Edit", "Delete", "Back"]:
            assert name in entries
        await pilot.press(*"go to users")
        await until(pilot, lambda: pilot.app.screen.query_one(CommandList).get_option_at_index(0).prompt.plain.startswith("Go to Users"), "search")
        await steps(pilot, "enter")
        assert isinstance(pilot.app.screen, UsersScreen)


# -- q --------------------------------------------------------------------------------


async def test_q_quits_but_types_q_in_a_field(service):
    token = service.mint()
    app = service.dashboard(token)
    async with app.run_test(size=SIZE) as pilot:
        await steps(pilot, "n", "q")
        form = app.screen
        assert isinstance(form, AppForm)
        assert form.query_one("#slug", Input).value == "q" and app.return_code is None
        await steps(pilot, "escape", "q")
        assert app.return_code == 0
        await until(pilot, lambda: not app.is_running, "the app to stop")


# -- every binding has an id (a keymap can override it) --------------------------------


def our_classes() -> list[type]:
    found = {PepyHatApp}
    for package in (pepyhat_tui.screens, pepyhat_tui.panes, pepyhat_tui.widgets):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            loaded = importlib.import_module(module.name)
            for _, cls in inspect.getmembers(loaded, inspect.isclass):
                if cls.__module__ == loaded.__name__:
                    found.add(cls)
    return sorted(found, key=lambda c: c.__qualname__)


def test_every_binding_declared_on_our_screens_and_app_comes_from_the_registry():
    checked = {}
    for cls in our_classes():
        bindings = cls.__dict__.get("BINDINGS")
        if not bindings:
            continue
        for binding in bindings:
            assert isinstance(binding, Binding), f"{cls.__name__}: {binding!r} is not a Binding (no id possible)"
            assert binding.id in ACTIONS, f"{cls.__name__}: binding {binding.key} -> {binding.action} is not a registry action"
            action = ACTIONS[binding.id]
            assert (binding.key, binding.action, binding.description) == (action.key, action.action, action.description)
            method = action.action.partition("(")[0]
            assert callable(getattr(cls, f"action_{method}", None)), f"{cls.__name__} binds {action.id} but has no action_{method}"
        ids = [b.id for b in bindings]
        assert len(ids) == len(set(ids)), f"{cls.__name__}: duplicate binding ids {ids}"
        checked[cls.__name__] = ids
    # The introspection really saw the screens and panes (an empty walk would pass vacuously).
    for name in ["PepyHatApp", "DataScreen", "AppDetailScreen", "UserDetailScreen", "ListPane", "AppsPane", "RolesPane",
                 "PermissionsPane", "MembersPane", "KeysPane", "UsersPane", "FormScreen", "ConfirmScreen", "GotoScreen",
                 "HelpScreen", "PickScreen", "KeyDetailScreen", "PagedTable"]:
        assert name in checked, f"{name} not checked"
    assert {"quit", "goto", "help", "palette"} <= set(checked["PepyHatApp"])


async def test_a_keymap_rebinds_an_action_by_its_id(service):
    token = service.mint()
    app = service.dashboard(token)
    app.set_keymap(expand_keymap({"new": "a", "goto": "g"}))
    async with app.run_test(size=SIZE) as pilot:
        await steps(pilot, "n")
        assert isinstance(app.screen, AppsScreen)  # n no longer creates
        await steps(pilot, "a")
        assert isinstance(app.screen, AppForm)
        await steps(pilot, "escape", "g")
        assert isinstance(app.screen, GotoScreen)


# -- 80x24, keyboard only ----------------------------------------------------------------


def footer_keys(screen, width: int = SMALL[0]) -> list[tuple[str, str]]:
    """The footer's keys, checked to sit side by side inside the terminal's width."""
    keys = sorted(screen.query_one(Footer).query(FooterKey), key=lambda k: k.region.x)
    assert keys
    right = 0
    for key in keys:
        region = key.region
        assert region.width > 0, f"{key.description} not shown"
        assert region.x >= right, f"{key.description} overlaps the key before it"
        assert region.right <= width, f"{key.description} cut off at {region}"
        assert region.y == screen.size.height - 1
        right = region.right
    return [(key.key, key.description) for key in keys]


def shown_bindings(screen) -> set[str]:
    return {key for key, active in screen.active_bindings.items() if active.binding.show}


async def test_main_flow_and_footers_fit_80x24(service):
    token = service.mint()
    async with service.dashboard(token).run_test(size=SMALL) as pilot:
        app = pilot.app
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AppsScreen)
        table = screen.table
        assert table.region.bottom <= 23 and table.region.height >= 6  # every demo app row visible
        keys = footer_keys(screen)
        assert [k for k, _ in keys if k != "ctrl+p"] and {k for k, _ in keys} - {"ctrl+p"} == shown_bindings(screen)
        assert {"n", "e", "d", "slash", "enter", "colon", "question_mark"} <= {k for k, _ in keys}

        await steps(pilot, "down", "enter")
        detail = app.screen
        assert isinstance(detail, AppDetailScreen) and detail.slug == "crm"
        tabs = detail.query_one(Tabs)
        for tab in tabs.query("Tab"):
            assert 0 <= tab.region.x and tab.region.right <= 80, f"tab {tab.label} off screen"
        for key, name in (("1", "roles"), ("2", "permissions"), ("3", "members"), ("4", "keys")):
            await steps(pilot, key)
            assert detail.active_tab == name
            assert detail.table(name).row_count > 0 and detail.table(name).region.height > 0
            keys = footer_keys(detail)
            assert {k for k, _ in keys} - {"ctrl+p"} == shown_bindings(detail)
        await steps(pilot, "2", "escape")
        assert app.screen is screen and table.selected_key() == "crm"


async def test_forms_fit_80x24_and_save_from_the_keyboard(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SMALL) as pilot:
        await steps(pilot, "down", "enter", "n")
        form = pilot.app.screen
        assert isinstance(form, RoleForm)
        dialog = form.query_one("#dialog")
        assert dialog.region.right <= 80 and dialog.region.bottom <= 24
        await pilot.press(*"ops")
        # Tab walks every field down to the buttons, each scrolled into view as it takes focus.
        seen = []
        for _ in range(6):
            await pilot.press("tab")
            focused = pilot.app.focused
            seen.append(focused.id)
            # (scrolled into view on the next refresh, which the pilot's press may return before)
            await until(pilot, lambda: focused.region.height > 0 and focused.region.bottom <= 24, f"{focused.id} in view")
        assert seen == ["name", "description", "permissions", "cancel", "save", "slug"]
        await pilot.press("tab", *"Ops")
        await steps(pilot, "ctrl+s")
        assert isinstance(pilot.app.screen, AppDetailScreen)
        assert (await http.get("/api/v1/apps/crm/roles/ops")).json()["name"] == "Ops"


async def test_titles_at_80x24_keep_their_counts_and_cut_the_rest_with_an_ellipsis(service):
    token = service.mint()
    async with service.http(token) as http, service.dashboard(token).run_test(size=SMALL) as pilot:
        await settle(pilot)
        await steps(pilot, "down", "enter")  # crm: its description does not fit beside its counts at 80 columns
        detail = pilot.app.screen
        assert isinstance(detail, AppDetailScreen)
        await until(pilot, lambda: detail.details is not None and "active keys" in title_counts(detail), "the app's counts")
        crm = (await http.get("/api/v1/apps/crm")).json()
        assert title_counts(detail) == (
            f"{crm['role_count']} roles · {crm['member_count']} members · {crm['active_key_count']} active keys"
        )
        assert_title_fits(detail)
        await steps(pilot, "3", "enter")  # a member: their user detail
        user = pilot.app.screen
        assert isinstance(user, UserDetailScreen)
        await until(pilot, lambda: user.access is not None and "live role" in title_counts(user), "the user's counts")
        assert_title_fits(user)


def title_counts(screen) -> str:
    return str(screen.query_one("#title-counts", Static).visual.plain)


def assert_title_fits(screen) -> None:
    main, counts = screen.query_one("#title-main", Static), screen.query_one("#title-counts", Static)
    assert counts.region.right <= SMALL[0] and counts.region.width >= len(title_counts(screen)), counts.region
    assert main.region.right <= counts.region.x
    # What the operator reads on that line: the counts whole; the left side cut with an ellipsis if at all.
    line = "".join(segment.text for segment in screen._compositor.render_strips()[main.region.y])
    assert title_counts(screen) in line
    left = line[main.region.x:main.region.right].rstrip()
    full = main.visual.plain
    assert left == full or (left.endswith("…") and full.startswith(left[:-1])), (left, full)


async def test_the_palette_names_the_key_each_action_is_bound_to(service):
    token = service.mint()
    async with service.dashboard(token).run_test(size=SIZE) as pilot:
        await settle(pilot)
        await steps(pilot, "ctrl+p")
        commands = pilot.app.screen.query_one(CommandList)
        await until(pilot, lambda: commands.option_count > 0, "palette entries")
        prompts = {
            lines[0]: lines[1] for lines in
            (commands.get_option_at_index(i).prompt.plain.splitlines() for i in range(commands.option_count))
            if len(lines) > 1
        }
        assert prompts["Quit"].endswith("key: q") and prompts["New"].endswith("key: n"), prompts
