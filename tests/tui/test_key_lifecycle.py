"""The key lifecycle as an operator drives it: mint, shown once, copy, edit, revoke, rotate, leaked keys.

Every outcome is checked through the service (what was really created, revoked
or rotated) and, where it matters, through the data plane: a minted key read
off the modal works, a revoked one is refused.
"""

from __future__ import annotations

import gc
import types
from collections import deque
from typing import Any

import httpx
import pytest
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Button, Select, Static

from pepyhat import keys as key_format
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.client import EMBEDDED_URL, PepyHatClient
from pepyhat_tui.config import Target
from pepyhat_tui.screens.key_form import KeyForm
from pepyhat_tui.screens.leaked import LeakedKeyScreen
from pepyhat_tui.screens.revoke import RevokeScreen
from pepyhat_tui.screens.rotate import RotateScreen
from pepyhat_tui.screens.shown_once import ShownOnceScreen
from pepyhat_tui.widgets.scope_editor import ScopeEditor
from tests.tui.support import FIXED, goto, plain, settle, steps, type_text, until
from tests.tui.test_keys_screen import api_keys, open_keys, paste

SIZE = (100, 40)


# -- helpers -------------------------------------------------------------------


class Recording(httpx.ASGITransport):
    """The embedded service's transport, keeping every request the dashboard made."""

    def __init__(self, app) -> None:
        super().__init__(app=app, raise_app_exceptions=False, client=("127.0.0.1", 0))
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)


def recorded_dashboard(service, **target: Any) -> tuple[PepyHatApp, Recording]:
    transport = Recording(service.asgi)
    client = PepyHatClient(httpx.AsyncClient(transport=transport, base_url=EMBEDDED_URL))
    app = PepyHatApp(
        Target("embedded", "embedded", database=service.database, **target), client=client, clock=lambda: FIXED
    )
    return app, transport


async def mint_key(http, **body) -> dict:
    response = await http.post("/api/v1/keys", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def authz(http, plaintext: str, app: str = "crm") -> httpx.Response:
    return await http.get("/api/v1/authz/alice@example.com", params={"app": app}, headers={"X-API-Key": plaintext})


def referents(obj: object) -> list[object]:
    """What ``obj`` holds, for the search: not classes or modules (they lead to every global).

    A function leads to what its closure and defaults hold, not to its module's globals.
    """
    if isinstance(obj, (type, types.ModuleType)):
        return []
    if isinstance(obj, types.FunctionType):
        cells = [c.cell_contents for c in obj.__closure__ or () if c != types.CellType()]
        return [*cells, obj.__defaults__, obj.__kwdefaults__]
    return gc.get_referents(obj)


def path_to(root: object, needle: str) -> list[str]:
    """Every str or bytes reachable from ``root`` that holds ``needle``, as the chain of types that leads to it."""
    seen, queue, out = {id(root)}, deque([(root, type(root).__name__)]), []
    while queue:
        obj, path = queue.popleft()
        if isinstance(obj, (str, bytes, bytearray, memoryview)):
            if (needle if isinstance(obj, str) else needle.encode()) in (obj if isinstance(obj, str) else bytes(obj)):
                out.append(path)
            continue
        for ref in referents(obj):
            if id(ref) not in seen:
                seen.add(id(ref))
                queue.append((ref, f"{path} > {type(ref).__name__}"))
    return out


async def open_crm_keys(pilot) -> None:
    await goto(pilot, "apps crm")
    await steps(pilot, "4")


def shown_plaintext(pilot) -> str:
    screen = pilot.app.screen
    assert isinstance(screen, ShownOnceScreen), screen
    return plain(screen.query_one("#plaintext", Static)).strip()


# -- minting -------------------------------------------------------------------


async def test_on_an_app_keys_tab_n_a_name_and_ctrl_s_mint_a_working_app_key(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        await open_crm_keys(pilot)
        await steps(pilot, "n")
        assert isinstance(app.screen, KeyForm)
        await type_text(pilot, "crm-worker")
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ShownOnceScreen), "the shown-once modal")
        plaintext = shown_plaintext(pilot)
        assert key_format.parse(plaintext) == "app"

        [made] = [k for k in await api_keys(http, app="crm") if k["name"] == "crm-worker"]
        assert made["scopes"] == [{"path": "apps/crm/authz/**", "operations": ["read"]}]
        assert made["expires_at"] is None and made["kind"] == "app"
        assert made["start"] == plaintext[:10]
        # The modal says how an app sends it, and the key works on the data plane.
        assert "X-API-Key" in " ".join(plain(s) for s in app.screen.query(Static))
        assert (await authz(http, plaintext)).status_code == 200


async def test_create_form_validates_as_typed_and_puts_refusals_on_their_field(service):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await open_keys(pilot)
        await steps(pilot, "n")
        form = app.screen
        assert isinstance(form, KeyForm)
        await type_text(pilot, "ci")
        form.query_one("#expires").value = "12x"
        await settle(pilot)
        assert "a duration" in plain(form.query_one("#error-expires", Static))
        form.query_one("#expires").value = "12h"
        await settle(pilot)
        assert not form.query_one("#error-expires").display
        assert plain(form.query_one("#note-expires", Static)) == "expires in 12h"
        form.query_one("#rate").value = "ten"
        await settle(pilot)
        assert "whole number" in plain(form.query_one("#error-rate", Static))
        form.query_one("#rate").value = "60"
        # No app chosen for an app key: said on the app field, nothing sent.
        await steps(pilot, "ctrl+s")
        assert app.screen is form
        assert "choose the app" in plain(form.query_one("#error-app", Static))


async def test_a_delegated_admin_sees_what_it_cannot_grant_before_saving_and_the_refusal_inline(service):
    token = service.mint(["keys.manage", "keys.read", "apps.read"], ["apps/crm/**=*"], name="crm-delegate")
    app = service.dashboard(token)
    async with app.run_test(size=SIZE) as pilot:
        await open_crm_keys(pilot)
        await steps(pilot, "n")
        form = app.screen
        assert isinstance(form, KeyForm)
        await type_text(pilot, "too-wide")
        editor = form.query_one(ScopeEditor)
        editor.set_scopes([])
        await settle(pilot)
        await steps(pilot, "ctrl+n")
        await type_text(pilot, "apps/wiki/authz/**")
        [row] = editor.rows
        await until(pilot, lambda: "beyond your token" in plain(row.query_one(".scope-note", Static)), "the mark")
        # Sent anyway: the service says no, on the scopes field, in words.
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: form.query_one("#error-scopes").display, "the scope refusal")
        assert app.screen is form
        assert "does not cover" in plain(form.query_one("#error-scopes", Static))
        assert "refused" in plain(row.query_one(".scope-note", Static))


async def test_capabilities_the_operator_lacks_cannot_be_selected(service):
    token = service.mint(["keys.manage", "keys.read", "apps.read"], ["**=*"], name="key-minter")
    app = service.dashboard(token)
    async with app.run_test(size=SIZE) as pilot:
        await open_keys(pilot)
        await steps(pilot, "n")
        form = app.screen
        form.query_one("#kind", Select).value = "admin"
        await settle(pilot)
        editor = form.query_one("#capabilities")
        assert editor.display
        disabled = {editor.get_option_at_index(i).value for i in range(editor.option_count)
                    if editor.get_option_at_index(i).disabled}
        assert disabled == {"apps.write", "users.read", "users.write", "grants.write", "audit.read", "authz.explain"}
        # Space on every line the cursor reaches: the disabled ones are skipped.
        editor.focus()
        await steps(pilot, *["space", "down"] * editor.option_count)
        assert editor.capabilities == ["apps.read", "keys.manage", "keys.read"]


# -- shown once ------------------------------------------------------------------


async def test_shown_once_warns_on_escape_and_leaves_nothing_behind(service, monkeypatch):
    written: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "is_headless", property(lambda self: False))
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    monkeypatch.setenv("SSH_TTY", "/dev/pts/9")
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("STY", raising=False)
    logged: list[str] = []
    app = service.dashboard()
    monkeypatch.setattr(app, "_log", lambda *args, **kwargs: logged.append(repr((args, kwargs))))
    async with app.run_test(size=SIZE) as pilot:
        await open_crm_keys(pilot)
        await steps(pilot, "n")
        await type_text(pilot, "crm-once")
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ShownOnceScreen), "the shown-once modal")
        plaintext = shown_plaintext(pilot)
        modal = app.screen

        await steps(pilot, "c")
        assert plain(modal.query_one("#copied", Static)) == "copied through the terminal (OSC 52)"
        import base64

        assert f"\x1b]52;c;{base64.b64encode(plaintext.encode()).decode()}\a" in written
        written.clear()

        await steps(pilot, "escape")
        assert app.screen is modal, "escape alone must not lose the key"
        assert modal.query_one("#warning").display
        assert "cannot be shown again" in plain(modal.query_one("#warning", Static))

        modal.query_one("#stored", Button).press()
        await settle(pilot)
        assert not isinstance(app.screen, ShownOnceScreen)
        del modal
        gc.collect()
        assert path_to(app, plaintext) == []
        assert not [line for line in logged if plaintext in line]
        assert not [n for n in app._notifications if plaintext in str(n.message)]


# -- revoke, rotate, edit ---------------------------------------------------------


async def test_revoke_names_the_key_cancel_is_focused_and_y_revokes_with_the_reason(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await mint_key(http, name="crm-revoke-me", app="crm")
        screen = await open_keys(pilot)
        table = screen.table
        table.move_cursor(row=table.get_row_index(made["id"]))
        await steps(pilot, "d")
        dialog = app.screen
        assert isinstance(dialog, RevokeScreen)
        said = " ".join(plain(s) for s in dialog.query(Static))
        assert "crm-revoke-me" in said and made["start"] in said and "last used never" in said
        assert dialog.focused is dialog.query_one("#cancel")
        dialog.query_one("#reason").value = "leaked in a CI log"
        await steps(pilot, "y")
        await until(pilot, lambda: str(table.get_cell(made["id"], "status")) == "revoked", "the row revoked")
        record = (await http.get(f"/api/v1/keys/{made['id']}")).json()
        assert record["status"] == "revoked" and record["revoke_reason"] == "leaked in a CI log"
        assert (await authz(http, made["key"])).json()["error"]["code"] == "key_revoked"


async def test_rotate_with_0s_grace_shows_the_successor_once_and_kills_the_old_key(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await mint_key(http, name="crm-rotate-me", app="crm")
        screen = await open_keys(pilot)
        table = screen.table
        table.move_cursor(row=table.get_row_index(made["id"]))
        await steps(pilot, "R")
        assert isinstance(app.screen, RotateScreen)
        await steps(pilot, "up", "up", "enter")  # from 24h to 0s
        await until(pilot, lambda: isinstance(app.screen, ShownOnceScreen), "the successor, shown once")
        successor = shown_plaintext(pilot)
        assert "no longer works" in " ".join(plain(s) for s in app.screen.query(Static))
        assert (await authz(http, successor)).status_code == 200
        assert (await authz(http, made["key"])).json()["error"]["code"] == "key_expired"
        app.screen.query_one("#stored", Button).press()
        await until(pilot, lambda: str(table.get_cell(made["id"], "status")) == "expired", "the old key expired")


async def test_edit_renames_and_limits_in_place(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await mint_key(http, name="crm-edit-me", app="crm")
        screen = await open_keys(pilot)
        table = screen.table
        table.move_cursor(row=table.get_row_index(made["id"]))
        await steps(pilot, "e")
        form = app.screen
        assert isinstance(form, KeyForm)
        form.query_one("#name").value = "crm-edited"
        form.query_one("#rate").value = "120"
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: "crm-edited" in str(table.get_cell(made["id"], "name")), "the row renamed")
        record = (await http.get(f"/api/v1/keys/{made['id']}")).json()
        assert record["name"] == "crm-edited" and record["rate_limit_per_minute"] == 120
        assert record["scopes"] == made["scopes"]  # untouched rows are not sent


async def test_bulk_revoke_of_an_apps_keys_needs_the_app_slug_typed(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        await open_crm_keys(pilot)
        await steps(pilot, "a", "d")
        dialog = app.screen
        assert isinstance(dialog, RevokeScreen)
        assert dialog.type_to_confirm == "crm"
        await steps(pilot, "y")
        assert app.screen is dialog, "y alone must not confirm a bulk revoke"
        assert dialog.query_one("#typed").value == "y"  # it is typing: it went where the slug is typed
        await steps(pilot, "ctrl+u")
        await type_text(pilot, "crm")
        dialog.query_one("#confirm", Button).press()
        await settle(pilot)
        await until(pilot, lambda: not isinstance(app.screen, RevokeScreen), "the dialog closed")
        live = await api_keys(http, app="crm", status="active")
        assert live == []


# -- leaked keys -------------------------------------------------------------------


async def test_a_pasted_leaked_key_is_looked_up_never_sent_in_a_url_and_revoked_with_d_y(service):
    app, transport = recorded_dashboard(service)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        leaked = await mint_key(http, name="crm-leaked", app="crm")
        plaintext = leaked["key"]
        screen = await open_keys(pilot)
        await steps(pilot, "slash")
        await paste(pilot, plaintext)
        await until(pilot, lambda: list(screen.table.items) == [leaked["id"]], "the leaked key looked up")
        assert screen.filter_input.value == leaked["start"] + "…"
        assert plaintext not in screen.title_bar.text if hasattr(screen.title_bar, "text") else True
        await steps(pilot, "enter")
        await until(pilot, lambda: isinstance(app.screen, LeakedKeyScreen) and app.screen.matches, "the identification")
        said = plain(app.screen.query_one("#leaked-result", Static))
        assert "crm-leaked" in said and "crm" in said
        await steps(pilot, "d")
        assert isinstance(app.screen, RevokeScreen)
        await steps(pilot, "y")
        await until(pilot, lambda: not isinstance(app.screen, (RevokeScreen, LeakedKeyScreen)), "back on Keys")

        assert (await authz(http, plaintext)).json()["error"]["code"] == "key_revoked"
        lookups = [r for r in transport.requests if r.url.path == "/api/v1/keys/lookup"]
        assert lookups and all(plaintext in r.content.decode() for r in lookups)
        assert not [str(r.url) for r in transport.requests if plaintext in str(r.url)]


@pytest.mark.parametrize(
    ("pasted", "said"),
    [
        (lambda k: k[:-1] + ("A" if k[-1] != "A" else "B"), "checksum is wrong"),
        (lambda k: k[:-3], "48 characters"),
        (lambda k: key_format.mint("app"), "not a key of this Pepy Hat"),
    ],
    ids=["bad-checksum", "cut-short", "well-formed-unknown"],
)
async def test_find_leaked_key_says_plainly_what_a_pasted_string_is_not(service, pasted, said):
    app, transport = recorded_dashboard(service)
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await mint_key(http, name="crm-real", app="crm")
        await open_keys(pilot)
        await steps(pilot, "ctrl+l")
        assert isinstance(app.screen, LeakedKeyScreen)
        text = pasted(made["key"])
        await paste(pilot, text)
        await steps(pilot, "enter")
        await until(pilot, lambda: said in plain(app.screen.query_one("#leaked-result", Static)), said)
        assert not app.screen.query_one("#revoke").display
        assert not [str(r.url) for r in transport.requests if text in str(r.url)]


async def test_an_admin_token_is_as_findable_and_rotating_it_now_shows_the_successor(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        token = await mint_key(http, name="ci-token", kind="admin", capabilities=["keys.read"])
        await open_keys(pilot)
        await steps(pilot, "ctrl+l")
        await paste(pilot, token["key"])
        await steps(pilot, "enter")
        await until(pilot, lambda: app.screen.matches, "the token identified")
        assert "admin token" in plain(app.screen.query_one("#leaked-result", Static))
        await steps(pilot, "R")
        await until(pilot, lambda: isinstance(app.screen, ShownOnceScreen), "the successor")
        successor = shown_plaintext(pilot)
        assert successor.startswith("pha_")
        old = await http.get("/api/v1/auth/validate", headers={"Authorization": f"Bearer {token['key']}"})
        new = await http.get("/api/v1/auth/validate", headers={"Authorization": f"Bearer {successor}"})
        assert old.status_code == 401 and new.status_code == 200


async def test_the_environment_bar_counts_keys_expiring_within_7_days_and_follows_a_revoke(service):
    from pepyhat_tui.widgets.environment_bar import EnvironmentBar

    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        screen = await open_keys(pilot)
        bar = lambda: screen.query_one(EnvironmentBar).visual.plain  # noqa: E731
        await until(pilot, lambda: "⏳ 1 expiring" in bar(), "the count of 1")
        soon = await mint_key(http, name="crm-soon", app="crm", expires_in="3d")
        await steps(pilot, "ctrl+r")  # made elsewhere: ctrl+r counts again
        await until(pilot, lambda: "⏳ 2 expiring" in bar(), "the count of 2")
        table = screen.table
        await until(pilot, lambda: soon["id"] in table.items, "the new key listed")
        table.move_cursor(row=table.get_row_index(soon["id"]))
        await steps(pilot, "d", "y")
        await until(pilot, lambda: str(table.get_cell(soon["id"], "status")) == "revoked", "revoked")
        assert "⏳ 1 expiring" in bar()
        other = await mint_key(http, name="crm-soon-2", app="crm", expires_in="2d")
        await steps(pilot, "ctrl+r")
        await until(pilot, lambda: other["id"] in table.items, "listed")
        table.move_cursor(row=table.get_row_index(other["id"]))
        await steps(pilot, "R", "enter")  # 24h grace: the old key still expires soon, the successor too
        await until(pilot, lambda: "⏳ 3 expiring" in bar(), "the count of 3")


# -- the editors and who is offered what ----------------------------------------------


async def test_scope_editor_presets_add_remove_reorder_and_a_bad_path_in_words(service):
    from pepyhat_tui.widgets.scope_row import ScopeRow

    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        await open_crm_keys(pilot)
        await steps(pilot, "n")
        form = app.screen
        await type_text(pilot, "crm-gateway")
        editor = form.query_one(ScopeEditor)
        assert [(r.path, r.operations) for r in editor.rows] == [("apps/crm/authz/**", ["read"])]
        assert not editor.touched

        presets = editor.query_one("#scope-presets", Select)
        presets.value = "read everything"
        await settle(pilot)
        assert [(r.path, r.operations) for r in editor.rows] == [("**", ["read"])]

        await steps(pilot, "ctrl+n")
        await type_text(pilot, "apps/crm/roles/cr*x y")
        second = editor.rows[1]
        note = plain(second.query_one(".scope-note", Static))
        assert note.startswith("✗") and "[" not in note, note  # words, not a regular expression
        second.query_one(".scope-path").value = "apps/crm/authz/**"
        await settle(pilot)
        assert not plain(second.query_one(".scope-note", Static)).startswith("✗")

        await steps(pilot, "ctrl+up")  # the row with the cursor moves up
        assert [r.path for r in editor.rows] == ["apps/crm/authz/**", "**"]
        editor.rows[1].query_one(".scope-path").focus()
        await steps(pilot, "ctrl+delete")
        assert [r.path for r in editor.rows] == ["apps/crm/authz/**"]
        assert isinstance(app.focused.parent.parent, ScopeRow)  # the cursor stays in the editor

        # Write as well as read: the checkbox says so, and the key is minted with both.
        write = next(b for b in editor.rows[0].query(".scope-op") if b.name == "write")
        write.value = True
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ShownOnceScreen), "the key minted")
        [made] = [k for k in await api_keys(http, app="crm") if k["name"] == "crm-gateway"]
        assert made["scopes"] == [{"path": "apps/crm/authz/**", "operations": ["read", "write"]}]


async def test_a_delegated_admin_of_crm_is_offered_key_actions_on_crm_keys_only(service):
    token = service.mint(["keys.manage", "keys.read", "apps.read"], ["apps/crm/**=*", "**=read"], name="crm-delegate")
    app = service.dashboard(token)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_keys(pilot)
        pane, table = screen.pane, screen.table
        assert not pane.check_action("new", ())  # a new key could be any app's, or a token
        rows = {k.name: k for k in table.items.values()}

        def offered_on(name: str) -> set[str]:
            table.move_cursor(row=table.get_row_index(rows[name].id))
            return {a for a in ("edit", "revoke", "rotate") if pane.check_action(a, ())}

        assert offered_on("crm-production") == {"edit", "revoke", "rotate"}
        assert offered_on("wiki-production") == set()
        assert offered_on("auditor") == set()  # an admin token: tokens/*, beyond apps/crm/**
        await steps(pilot, "d")
        assert app.screen is screen, "d on a row out of reach opens nothing"

        await goto(pilot, "apps crm")
        await steps(pilot, "4")
        crm_keys = app.screen.pane("keys")
        assert crm_keys.check_action("new", ())
        await steps(pilot, "escape")
        await goto(pilot, "apps wiki")
        await steps(pilot, "4")
        assert not app.screen.pane("keys").check_action("new", ())


async def test_on_a_red_profile_revoking_one_key_needs_its_name_typed(service):
    app = service.dashboard(color="red")
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await mint_key(http, name="crm-red", app="crm")
        screen = await open_keys(pilot)
        table = screen.table
        table.move_cursor(row=table.get_row_index(made["id"]))
        await steps(pilot, "d")
        dialog = app.screen
        assert isinstance(dialog, RevokeScreen) and dialog.type_to_confirm == "crm-red"
        await steps(pilot, "y")
        assert app.screen is dialog
        await steps(pilot, "escape")
        assert app.screen is screen
        assert (await http.get(f"/api/v1/keys/{made['id']}")).json()["status"] == "active"


async def test_a_revoked_key_still_tried_shows_how_often_and_from_where(service):
    from pepyhat_tui.screens.key_detail import KeyDetailScreen

    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await mint_key(http, name="crm-still-tried", app="crm")
        await http.delete(f"/api/v1/keys/{made['id']}", params={"reason": "leaked"})
        for _ in range(3):
            assert (await authz(http, made["key"])).json()["error"]["code"] == "key_revoked"
        service.asgi.state.runtime.usage.flush()  # what the background flush does, batched

        screen = await open_keys(pilot)
        table = screen.table
        table.move_cursor(row=table.get_row_index(made["id"]))
        await steps(pilot, "enter")
        assert isinstance(app.screen, KeyDetailScreen)
        shown = "\n".join(plain(s) for s in app.screen.query(Static))
        assert "3 requests since it stopped working" in shown
        assert "from 127.0.0.1" in shown
        await steps(pilot, "escape", "ctrl+l")
        await paste(pilot, made["key"])
        await steps(pilot, "enter")
        await until(pilot, lambda: app.screen.matches, "identified")
        said = plain(app.screen.query_one("#leaked-result", Static))
        assert "3 requests since it stopped working: someone is still trying it" in said
        assert "from 127.0.0.1" in said
        assert not app.screen.query_one("#revoke").display  # revoked already: nothing to do


@pytest.mark.parametrize(
    ("env", "clipboard_works", "headless", "said"),
    [
        ({}, True, True, "copied to the system clipboard"),
        ({}, False, False, "copied through the terminal (OSC 52)"),  # pyperclip raises: OSC 52
        ({}, False, True, "copy failed: select the key and copy it by hand"),  # and no terminal to write to
    ],
    ids=["system-clipboard", "pyperclip-raises", "nothing-works"],
)
async def test_the_modal_says_where_the_copy_went(service, monkeypatch, env, clipboard_works, headless, said):
    import pyperclip

    from pepyhat_tui.minted import Minted
    from tests.tui.test_snapshots import fake_minted

    for name in ("SSH_TTY", "SSH_CONNECTION", "TMUX", "STY"):
        monkeypatch.delenv(name, raising=False)
    given: list[str] = []

    def copy(text: str) -> None:
        if not clipboard_works:
            raise pyperclip.PyperclipException("could not find a copy/paste mechanism for your system")
        given.append(text)

    monkeypatch.setattr(pyperclip, "copy", copy)
    written: list[str] = []
    if not headless:
        monkeypatch.setattr(HeadlessDriver, "is_headless", property(lambda self: False))
        monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    minted: Minted = fake_minted()
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(ShownOnceScreen(minted))
        await settle(pilot)
        plaintext = shown_plaintext(pilot)
        await steps(pilot, "c")
        assert plain(app.screen.query_one("#copied", Static)) == said
        assert given == ([plaintext] if clipboard_works else [])
        assert any(plaintext not in w and "\x1b]52;c;" in w for w in written) == (said.endswith("(OSC 52)"))


async def test_the_services_validation_lands_on_its_field_in_words(service):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        await open_crm_keys(pilot)
        await steps(pilot, "n")
        form = app.screen
        form.query_one("#name").value = "x" * 201  # the contract's limit is 200: the service says so
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: form.query_one("#error-name").display, "the name's error")
        assert "at most 200 characters" in plain(form.query_one("#error-name", Static))
        assert app.screen is form  # nothing lost: the form stays, with what was typed
        assert form.query_one("#name").value == "x" * 201


async def test_rotating_with_grace_shows_the_old_keys_new_expiry_and_space_selects_for_a_bulk_revoke(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        first = await mint_key(http, name="crm-bulk-1", app="crm")
        second = await mint_key(http, name="wiki-bulk-2", app="wiki")
        screen = await open_keys(pilot)
        table = screen.table
        table.move_cursor(row=table.get_row_index(first["id"]))
        await steps(pilot, "R", "enter")  # 24h, the default
        await until(pilot, lambda: isinstance(app.screen, ShownOnceScreen), "the successor")
        app.screen.query_one("#stored", Button).press()
        await until(pilot, lambda: str(table.get_cell(first["id"], "expires")) == "in 1d", "the old key's new expiry")

        table.move_cursor(row=table.get_row_index(first["id"]))
        await steps(pilot, "space")
        table.move_cursor(row=table.get_row_index(second["id"]))
        await steps(pilot, "space")
        assert "2 selected" in str(screen.pane.subtitle())
        await steps(pilot, "d")
        dialog = app.screen
        assert isinstance(dialog, RevokeScreen) and dialog.type_to_confirm == "2 keys"  # two apps: the count
        dialog.query_one("#typed").focus()
        await type_text(pilot, "2 keys")
        dialog.query_one("#confirm", Button).press()
        await until(pilot, lambda: str(table.get_cell(second["id"], "status")) == "revoked", "both revoked")
        assert (await http.get(f"/api/v1/keys/{first['id']}")).json()["status"] == "revoked"


async def test_a_reason_typed_at_once_is_kept_and_a_bulk_slug_typed_at_once_reaches_its_field(service):
    app = service.dashboard()
    async with service.http() as http, app.run_test(size=SIZE) as pilot:
        made = await mint_key(http, name="crm-typed-reason", app="crm")
        screen = await open_keys(pilot)
        table = screen.table
        table.move_cursor(row=table.get_row_index(made["id"]))
        await steps(pilot, "d")
        await type_text(pilot, "test revoke")  # Cancel has the focus: the words go to the reason
        assert app.screen.query_one("#reason").value == "test revoke"
        await steps(pilot, "enter")
        await until(pilot, lambda: str(table.get_cell(made["id"], "status")) == "revoked", "revoked")
        assert (await http.get(f"/api/v1/keys/{made['id']}")).json()["revoke_reason"] == "test revoke"

        await goto(pilot, "apps crm")
        await steps(pilot, "4", "a", "d")
        dialog = app.screen
        assert isinstance(dialog, RevokeScreen)
        await type_text(pilot, "crm")
        assert dialog.query_one("#typed").value == "crm" and not dialog.query_one("#confirm").disabled
