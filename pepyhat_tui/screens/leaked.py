"""Find a leaked key: paste it (or its start), see whose it is, revoke it or rotate it now.

The pasted text goes only into the lookup's body; the input masks it, and is
emptied as soon as the lookup has it, so the secret is on screen as its start
alone.  Answers the keys it changed (revoked, or rotated away), for the list
behind to redraw.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from pepyhat import schemas
from pepyhat_tui.actions import ACTIONS, bindings
from pepyhat_tui.client import ClientError
from pepyhat_tui.formatting import key_badge, kind_label, relative
from pepyhat_tui.guarded import Guarded, key_path
from pepyhat_tui.leaks import suspect
from pepyhat_tui.text import join, literal, plural
from pepyhat_tui.widgets.footer import Footer
from pepyhat_tui.widgets.text_input import TextInput

NOT_OURS = "not a key of this Pepy Hat: no key here has that hash (another installation's, or already deleted?)"


def identification(key: schemas.Key, now) -> list[Text]:
    kind = kind_label(key)
    used = relative(key.last_used_at, now)
    lines = [
        join(("Key       ", "bold"), (key.name, ""), f"  ({kind}", *((" of ", (key.app, "bold")) if key.app else ()), ")"),
        join(("Start     ", "bold"), (key.start + "…", ""), "  ", key_badge(key, now)),
        join(("Created   ", "bold"), relative(key.created_at, now), " by ", (key.created_by, "")),
        join(("Last used ", "bold"), used, *((" from ", (key.last_used_from, "")) if key.last_used_from else ())),
    ]
    if key.status != "active":
        tried = key.refused_since_revoke
        lines.append(join(("Refused   ", "bold"), f"{plural(tried, 'request')} since it stopped working"
                          + (": someone is still trying it" if tried else "")))
    return lines


class LeakedKeyScreen(Guarded, ModalScreen[list[schemas.Key] | None]):
    DEFAULT_CSS = """
    LeakedKeyScreen #leaked-matches {
        height: auto;
        max-height: 6;
    }
    LeakedKeyScreen #leaked-result {
        height: auto;
        padding-bottom: 1;
    }
    """
    # A modal screen hides the app's bindings: `?` and the palette are bound here again.
    BINDINGS = bindings("leaked.revoke", "leaked.rotate", "confirm.cancel", "help", "palette")
    heading = "Find a leaked key"

    def __init__(self, pasted: str | None = None) -> None:
        super().__init__()
        self._pasted = pasted
        self.matches: list[schemas.Key] = []
        self.changed_keys: list[schemas.Key] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="dialog -danger"):
            yield Static("Find a leaked key", classes="dialog-title")
            yield TextInput(id="leaked-input", password=True, placeholder="paste the key (or its start), then enter")
            yield Static("", id="leaked-result")
            yield OptionList(id="leaked-matches")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Rotate now (R)", id="rotate", variant="warning")
                yield Button("Revoke (d)", id="revoke", variant="error")
        yield Footer(compact=True)  # d and R act on the key shown: say so where every screen does

    def on_mount(self) -> None:
        self.query_one("#leaked-matches").display = False
        self._buttons()
        if self._pasted:
            value, self._pasted = self._pasted, None
            self.find(value)
        else:
            self.query_one("#leaked-input").focus()

    @property
    def selected(self) -> schemas.Key | None:
        if len(self.matches) == 1:
            return self.matches[0]
        options = self.query_one("#leaked-matches", OptionList)
        if options.highlighted is None or not self.matches:
            return None
        return self.matches[options.highlighted]

    def action_available(self, action: str) -> bool:
        if action in ("revoke", "rotate"):
            key = self.selected
            return key is not None and key.status == "active" and not self.query_one("#leaked-input").has_focus
        return True

    def action_context(self) -> dict[str, str]:
        return {"keys": "**"}

    def selected_path(self) -> str | None:
        key = self.selected
        return key_path(key) if key is not None else None

    def say(self, text: Text | str) -> None:
        self.query_one("#leaked-result", Static).update(text if isinstance(text, Text) else literal(text))

    # -- the lookup -------------------------------------------------------------

    @on(Input.Submitted, "#leaked-input")
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.find(event.value)

    def find(self, value: str) -> None:
        field = self.query_one("#leaked-input", Input)
        field.value = ""  # the secret leaves the screen now; the lookup has it
        found = suspect(value)
        if found is None:
            self.say("That is not shaped like a key: a key is phk_ or pha_ and 48 characters, a start phk_ and 6.")
            field.focus()
            return
        if found.problem:
            self.say(join((found.shown, "bold"), ": ", (found.problem, "")))
            field.focus()
            return
        self.say(join("Looking up ", (found.shown, "bold"), "…"))
        self._lookup(value.strip(), found.kind, found.shown)

    @work(exclusive=True, group="lookup")
    async def _lookup(self, value: str, kind: str, shown: str) -> None:
        try:
            client = await self.dashboard.wait_client()
            if kind == "key":
                self.matches = await client.lookup_key(key=value)
            else:
                self.matches = await client.lookup_key(start=value)
        except ClientError as exc:
            self.say(join((shown, "bold"), ": ", (exc.message, "")))
            self.query_one("#leaked-input").focus()
            return
        self.show_matches(shown, kind)

    def show_matches(self, shown: str, kind: str) -> None:
        options = self.query_one("#leaked-matches", OptionList)
        options.clear_options()
        now = self.dashboard.now()
        if not self.matches:
            self.say(join((shown, "bold"), ": ", NOT_OURS if kind == "key" else "no key of this Pepy Hat starts so"))
            options.display = False
            self.query_one("#leaked-input").focus()
        elif len(self.matches) == 1:
            self.say(Text("\n").join(identification(self.matches[0], now)))
            options.display = False
            self.query_one("#cancel").focus()
        else:
            self.say(join(f"{len(self.matches)} keys start with ", (shown, "bold"), ": choose one"))
            for key in self.matches:
                options.add_option(Option(join((key.name, "bold"), "  ", (key.app or "admin token", ""), "  ",
                                               key_badge(key, now), "  created by ", (key.created_by, ""))))
            options.display = True
            options.highlighted = 0
            options.focus()
        self._buttons()

    def _buttons(self) -> None:
        key = self.selected
        live = key is not None and key.status == "active"
        for button, action in (("#revoke", "leaked.revoke"), ("#rotate", "leaked.rotate")):
            offered = live and self.dashboard.offers(ACTIONS[action], self.action_context(), self.selected_path())
            self.query_one(button, Button).display = offered
        self.refresh_bindings()

    @on(OptionList.OptionHighlighted, "#leaked-matches")
    def _highlighted(self) -> None:
        if len(self.matches) > 1:
            options = self.query_one("#leaked-matches", OptionList)
            if options.highlighted is not None:
                self.say(Text("\n").join(identification(self.matches[options.highlighted], self.dashboard.now())))
        self._buttons()

    # -- what to do with it -------------------------------------------------------

    @on(Button.Pressed, "#revoke")
    def action_revoke(self) -> None:
        from pepyhat_tui.screens.revoke import RevokeScreen

        key = self.selected
        if key is None:
            return
        typed = key.name if self.dashboard.target.color == "red" else None

        def confirmed(reason: str | None) -> None:
            if reason is not None:
                self._revoke(key, reason or "leaked")

        self.app.push_screen(RevokeScreen([key], self.dashboard.now(), type_to_confirm=typed), confirmed)

    @work(group="change")
    async def _revoke(self, key: schemas.Key, reason: str) -> None:
        try:
            revoked = await self.dashboard.client.revoke_key(key.id, reason)
        except ClientError as exc:
            self.report(exc, "Not revoked")
            return
        self.notify(f"Revoked {revoked.name} ({revoked.start}…): refused from the next request on")
        self.changed_keys.append(revoked)
        self.dismiss(self.changed_keys)

    @on(Button.Pressed, "#rotate")
    def action_rotate(self) -> None:
        key = self.selected
        if key is not None:
            self._rotate(key)

    @work(group="change")
    async def _rotate(self, key: schemas.Key) -> None:
        from pepyhat_tui.screens.shown_once import ShownOnceScreen

        try:
            minted = await self.dashboard.client.rotate_key(key.id, "0s")
        except ClientError as exc:
            self.report(exc, "Not rotated")
            return
        if minted.previous is not None:
            self.changed_keys.append(minted.previous)
        self.changed_keys.append(minted.key)
        # Back from the successor's modal, this dialog's work is done.
        self.app.push_screen(ShownOnceScreen(minted, "Successor"), lambda _: self.dismiss(self.changed_keys))

    def action_help(self) -> None:
        self.dashboard.action_help()

    def action_command_palette(self) -> None:
        self.dashboard.action_command_palette()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(self.changed_keys or None)
