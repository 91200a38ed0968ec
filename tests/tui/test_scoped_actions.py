"""Actions are offered by scope: creating needs a scope covering every name, a row action a scope reaching that row.

The delegated admin here administers crm (``apps/crm/**`` read, write, delete)
and reads everything else, so wiki's rows and the users are on screen to be
refused.  What is not offered is not in the footer, `?` or the palette, its key
does nothing, and no change is sent; the same checks see the actions where the
scopes allow them, so none of this passes vacuously.
"""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
from textual.pilot import Pilot

from pepyhat import schemas
from pepyhat_tui.actions import ACTIONS
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.client import EMBEDDED_URL, PepyHatClient
from pepyhat_tui.config import Target
from pepyhat_tui.guarded import resource_path
from pepyhat_tui.screens.app_detail import AppDetailScreen
from pepyhat_tui.screens.app_form import AppForm
from pepyhat_tui.screens.apps import AppsScreen
from pepyhat_tui.screens.grant_form import GrantForm
from pepyhat_tui.screens.role_form import RoleForm
from pepyhat_tui.screens.user_detail import UserDetailScreen
from tests.tui.support import FIXED, footer_labels, help_descriptions, open_users, palette_titles, settle, steps, until
from tests.tui.test_apps_screen import select_row

SIZE = (120, 36)
DELEGATED = ["apps.read", "apps.write", "users.read", "grants.write", "keys.read", "keys.manage"]
CRM_ADMIN = ["apps/crm/**=read,write,delete", "**=read"]
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
CHANGES = {"New", "Edit", "Delete"}


def dashboard(service, token: str) -> tuple[PepyHatApp, list[httpx.Request]]:
    """A dashboard signed in with ``token``, and every request it sends."""
    sent: list[httpx.Request] = []

    async def note(request: httpx.Request) -> None:
        sent.append(request)

    http = service.http(token)
    http.event_hooks["request"].append(note)
    target = Target("remote", "test", url=EMBEDDED_URL, token=token)
    return PepyHatApp(target, client=PepyHatClient(http), clock=lambda: FIXED), sent


def writes(sent: list[httpx.Request]) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in sent if r.method in WRITES]


async def signed_in(pilot: Pilot) -> None:
    await until(pilot, lambda: pilot.app.identity is not None, "signing in")
    await settle(pilot)


async def refused(pilot: Pilot, screen, sent, *keys: str) -> None:
    """Pressing ``keys`` opens nothing and sends no change."""
    before = writes(sent)
    await steps(pilot, *keys)
    assert pilot.app.screen is screen, f"{keys} opened {pilot.app.screen}"
    assert writes(sent) == before


# -- the rules, without a screen ------------------------------------------------------


def identity(*scopes: str) -> schemas.ValidatedKey:
    parsed = []
    for scope in scopes:
        path, _, ops = scope.partition("=")
        parsed.append(schemas.Scope(path=path, operations=ops.split(",")))
    return schemas.ValidatedKey(
        id="key_0000000000000000", name="t", kind="admin", app=None, scopes=parsed,
        capabilities=list(schemas.CAPABILITIES), expires_at=None, rate_limit_per_minute=None,
    )


def offers(scopes: tuple[str, ...], action: str, context: dict[str, str] | None = None, row: str | None = None) -> bool:
    app = PepyHatApp(Target("remote", "t", url=EMBEDDED_URL), identity=identity(*scopes),
                     clock=lambda: datetime.now(timezone.utc))
    return app.offers(ACTIONS[action], context or {}, row)


def test_creating_needs_a_scope_covering_every_new_name():
    crm = {"app": "crm"}
    assert offers(("**=*",), "apps.new") and offers(("apps/*=write",), "apps.new")
    assert not offers(("apps/crm/**=*",), "apps.new")  # intersects apps/*, does not cover it
    assert not offers(("apps/crm=write",), "apps.new")
    assert offers(("apps/crm/**=*",), "roles.new", crm)
    assert offers(("apps/*/roles/*=write",), "roles.new", crm)
    assert not offers(("apps/crm/roles/admin=write",), "roles.new", crm)  # one role is not any role
    assert not offers(("apps/crm/**=read,delete",), "roles.new", crm)  # the operation counts too
    assert not offers(("apps/crm/**=*",), "roles.new", {"app": "wiki"})


def test_a_row_action_needs_a_scope_matching_that_row():
    crm = {"app": "crm"}
    assert offers(("apps/crm/**=write",), "apps.edit", row="apps/crm")  # `**` matches nothing more too
    assert not offers(("apps/crm/**=write",), "apps.edit", row="apps/wiki")
    assert not offers(("apps/crm/**=write",), "apps.delete", row="apps/crm")  # delete is its own operation
    assert offers(("apps/crm/roles/admin=write",), "roles.edit", crm, row="apps/crm/roles/admin")
    assert not offers(("apps/crm/roles/admin=write",), "roles.edit", crm, row="apps/crm/roles/viewer")
    assert not offers(("**=*",), "apps.edit")  # no row, nothing to edit
    assert not offers(("**=*",), "roles.edit", crm, row="apps/wiki/roles/admin")  # not a row this pane shows
    assert not offers(("**=*",), "users.edit", row="apps/crm")


def test_a_name_that_is_no_path_segment_is_reached_only_through_a_wildcard():
    # The service refuses such names; a broken or hostile one must not read as another path.
    odd = resource_path("apps", "crm/roles")
    assert odd == "apps/*" and resource_path("users", "") == "users/*"
    assert offers(("**=*",), "apps.edit", row=odd) and offers(("apps/*=write",), "apps.edit", row=odd)
    assert not offers(("apps/crm/**=*",), "apps.edit", row=odd)


# -- the delegated admin of crm, on screen ------------------------------------------------


async def test_delegated_admin_is_not_offered_new_app_and_edits_only_crms_row(service):
    app, sent = dashboard(service, service.mint(DELEGATED, CRM_ADMIN))
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        screen = app.screen
        assert isinstance(screen, AppsScreen) and {"crm", "wiki"} <= set(screen.table.items)
        table, pane = screen.table, screen.pane

        await select_row(pilot, table, "crm")
        assert pane.check_action("new", ()) is False
        assert pane.check_action("edit", ()) and pane.check_action("delete", ())
        assert "n" not in screen.active_bindings and {"e", "d"} <= set(screen.active_bindings)
        footer = footer_labels(screen)
        assert "New" not in footer and {"Edit", "Delete"} <= footer
        described = await help_descriptions(pilot)
        assert "New" not in described and {"Edit", "Delete"} <= described
        titles = await palette_titles(pilot)
        assert "New" not in titles and {"Edit", "Delete"} <= titles
        await refused(pilot, screen, sent, "n")

        # The cursor on wiki: neither edit nor delete, anywhere.
        await select_row(pilot, table, "wiki")
        assert pane.check_action("edit", ()) is False and pane.check_action("delete", ()) is False
        assert not CHANGES & footer_labels(screen)
        assert not CHANGES & await help_descriptions(pilot)
        assert not CHANGES & await palette_titles(pilot)
        await refused(pilot, screen, sent, "e", "d", "n")

        # Back on crm they return, and do something.
        await select_row(pilot, table, "crm")
        assert {"Edit", "Delete"} <= footer_labels(screen)
        await steps(pilot, "e")
        assert isinstance(app.screen, AppForm)
        await steps(pilot, "escape")
        assert app.screen is screen
        assert writes(sent) == []


async def test_delegated_admin_changes_crms_tabs_and_not_wikis(service):
    app, sent = dashboard(service, service.mint(DELEGATED, CRM_ADMIN))
    tabs = {"1": ("roles", CHANGES), "2": ("permissions", {"New", "Delete"}), "3": ("members", {"New", "Delete"})}
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        apps = app.screen
        for slug in ("crm", "wiki"):
            await select_row(pilot, apps.table, slug)
            await steps(pilot, "enter")
            detail = app.screen
            assert isinstance(detail, AppDetailScreen) and detail.slug == slug
            for key, (tab, changes) in tabs.items():
                await steps(pilot, key)
                pane = detail.pane()
                assert detail.active_tab == tab and pane.table.row_count > 0, (slug, tab)
                methods = {a.action for a in ACTIONS.values() if a.id.startswith(f"{tab}.") and a.mutates}
                assert {ACTIONS[f"{tab}.{verb}"].action for verb in ("new", "delete")} <= methods
                if slug == "crm":
                    assert changes <= footer_labels(detail), tab
                    assert all(pane.check_action(method, ()) for method in methods), tab
                else:
                    assert not CHANGES & footer_labels(detail), tab
                    assert not any(pane.check_action(method, ()) for method in methods), tab
                    await refused(pilot, detail, sent, "n", "e", "d")
            await steps(pilot, "1")
            if slug == "crm":  # n on crm's roles does open the form
                assert "New" in await help_descriptions(pilot)
                await steps(pilot, "n")
                assert isinstance(app.screen, RoleForm)
                await steps(pilot, "escape")
            else:
                assert not CHANGES & await help_descriptions(pilot)
                assert not CHANGES & await palette_titles(pilot)
            await steps(pilot, "escape")
            assert app.screen is apps
        assert writes(sent) == []


async def test_delegated_admin_on_users_and_a_users_page(service):
    email = "a@x.io"  # sorts first
    async with service.http() as operator:
        assert (await operator.post("/api/v1/users", json={"email": email, "name": "A"})).status_code == 201
        for where in ("crm", "wiki"):
            role = (await operator.get(f"/api/v1/apps/{where}/roles")).json()["data"][0]["slug"]
            response = await operator.put(f"/api/v1/apps/{where}/members/{email}/roles/{role}")
            assert response.status_code == 200, response.text
    app, sent = dashboard(service, service.mint(DELEGATED, CRM_ADMIN))
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        users = await open_users(pilot)
        assert users.table.selected().email == email
        # No users.write, and no scope that could write users/* anyway.
        for verb in ("new", "edit", "delete", "toggle_active"):
            assert users.pane.check_action(verb, ()) is False, verb
        assert not (CHANGES | {"(De)activate"}) & footer_labels(users)
        await refused(pilot, users, sent, "n", "e", "d", "x")

        await steps(pilot, "enter")
        detail = app.screen
        assert isinstance(detail, UserDetailScreen)
        await until(pilot, lambda: len(detail.grant_rows) == 2, "the user's two grants")
        # It may grant somewhere (crm), so grant is offered; never edit or (de)activate.
        assert detail.check_action("grant", ()) and "Grant role" in footer_labels(detail)
        assert not {"Edit", "(De)activate"} & footer_labels(detail)
        for where, offered in (("crm", True), ("wiki", False), ("crm", True)):
            while detail.selected_grant()[0] != where:
                await pilot.press("down" if where == "wiki" else "up")
            await settle(pilot)
            assert bool(detail.check_action("remove", ())) is offered, where
            assert ("Remove role" in footer_labels(detail)) is offered, where
            assert ("Remove role" in await help_descriptions(pilot)) is offered, where
        await steps(pilot, "down")
        await refused(pilot, detail, sent, "d", "x", "e")

        # The grant form offers only the apps it may grant in.
        await steps(pilot, "g")
        form = app.screen
        assert isinstance(form, GrantForm)
        select = form.query_one("#app")
        await until(pilot, lambda: select.prompt == "choose an app", "the apps")
        assert [value for _, value in select._options if isinstance(value, str)] == ["crm"]
        await steps(pilot, "escape")
        assert writes(sent) == []


async def test_a_superadmin_is_offered_every_change_on_every_row(service):
    app, _ = dashboard(service, service.mint())
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        apps = app.screen
        assert apps.pane.check_action("new", ())
        for slug in list(apps.table.items):
            await select_row(pilot, apps.table, slug)
            assert CHANGES <= footer_labels(apps), slug
        await steps(pilot, "enter")  # the last app's tabs
        detail = app.screen
        for key, verbs in (("1", ("new", "edit", "delete")), ("2", ("new", "delete")), ("3", ("new", "delete"))):
            await steps(pilot, key)
            assert all(detail.pane().check_action(verb, ()) for verb in verbs), key


async def test_a_token_that_may_write_one_user_is_offered_changes_on_that_row_only(service):
    email = "a@x.io"  # sorts first
    async with service.http() as operator:
        assert (await operator.post("/api/v1/users", json={"email": email, "name": "A"})).status_code == 201
    app, sent = dashboard(service, service.mint(["users.read", "users.write"], ["**=read", f"users/{email}=*"]))
    row_changes = {"Edit", "Delete", "(De)activate"}
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        users = await open_users(pilot)
        assert users.table.selected().email == email
        assert row_changes <= footer_labels(users) and "New" not in footer_labels(users)
        await steps(pilot, "down")
        assert users.table.selected().email != email
        assert not (row_changes | {"New"}) & footer_labels(users)
        await refused(pilot, users, sent, "x", "e", "d", "n")
        await steps(pilot, "up", "x")
        assert app.screen is not users  # the deactivation dialog, on the row it may change
        await steps(pilot, "escape")
        assert writes(sent) == []
