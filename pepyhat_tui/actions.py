"""Every action of the dashboard, once: id, default key, words, and what it needs.

Bindings, the footer, `?` help and the palette are all derived from this table
(``bindings()`` builds a node's ``BINDINGS``; help and the palette read the live
bindings and ``ACTIONS``), and so are the read-only and capability checks
(``Guarded.check_action``).  A ``[keymap]`` table in ``config.toml`` rebinds an
action by its id (``"apps.new" = "a"``), or every action of a verb at once
(``new = "a"``), through Textual's ``set_keymap``.

``path`` is the resource pattern the action touches, in the contract's resource
paths (``pepyhat.scopes``); ``{app}`` and ``{email}`` are filled from the node
that offers it (``Guarded.action_context``).  An action is offered only when
the token holds ``capability`` and one of its scopes allowing ``operation``
reaches the path as ``reach`` says; a mutating one never on a read-only
dashboard.  ``reach``:

- ``new``: the action creates something whose name is the path's last ``*``
  (``apps/*``, ``apps/{app}/roles/*``).  That name could be anything, so a scope
  must *cover* the whole pattern: ``apps/crm/**`` may create roles in crm, not apps.
- ``row``: the action touches the row under the cursor.  ``path`` is the pattern
  of such rows; the node names the row's own resource (``Guarded.selected_path``,
  from ``ListPane.row_path(item)``, built with ``guarded.resource_path``), which
  must be one of them, and a scope must *match* it: ``apps/crm/**`` may edit
  crm's row, not wiki's.  No row, no action.
- ``some`` (the default): a scope must reach *some* path of the pattern
  (``intersects``): a read, a list, or a change whose form only offers existing
  targets (grant a user a role in one of the apps).  A concrete path (``users/{email}``
  on a user's page) is reached exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding

Operation = Literal["read", "write", "delete"]
Reach = Literal["some", "new", "row"]


@dataclass(frozen=True)
class Action:
    id: str
    key: str  # Textual key names, comma-separated for several
    action: str  # the action method on the node that binds it (`new` -> `action_new`)
    description: str  # short: the footer's label, the palette's title
    help: str = ""  # a sentence for `?` and the palette
    capability: str | None = None
    path: str | None = None
    operation: Operation = "read"
    mutates: bool = False
    show: bool = True  # in the footer (the footer must fit 80 columns)
    priority: bool = False
    reach: Reach = "some"  # how a scope must reach ``path``: see the module's docstring

    def __post_init__(self) -> None:
        if self.mutates and (self.capability is None or self.path is None):
            raise ValueError(f"mutating action {self.id} must declare its capability and resource path")
        last = self.path.rpartition("/")[2] if self.path else None
        if self.reach == "new" and not (last == "*" or (last or "").startswith("{")):
            # (or in a placeholder: the node fills in a pattern that ends in it)
            raise ValueError(f"action {self.id} creates: its path must end in the '*' that names the new resource")
        if self.reach == "row" and self.path is None:
            raise ValueError(f"action {self.id} acts on a row: its path must be the pattern of the rows")
        if self.mutates and self.reach == "some" and last in ("*", "**"):
            # Reaching *some* path of `apps/*` is what offered `n` on Apps to an admin of crm only.
            raise ValueError(f"mutating action {self.id}: a path ending in a wildcard needs reach='new' or 'row'")

    @property
    def verb(self) -> str:
        return self.id.rpartition(".")[2]

    def binding(self) -> Binding:
        return Binding(
            self.key, self.action, self.description, show=self.show, id=self.id,
            tooltip=self.help or self.description, priority=self.priority,
        )


def _write(id: str, key: str, action: str, description: str, help: str, capability: str, path: str,
           operation: Operation = "write", show: bool = True, *, reach: Reach = "some") -> Action:
    return Action(id, key, action, description, help, capability, path, operation, mutates=True, show=show, reach=reach)


ACTIONS: dict[str, Action] = {
    a.id: a
    for a in (
        # the application: everywhere
        Action("quit", "q", "quit", "Quit", "Leave the dashboard", show=False),
        Action("goto", "colon", "goto", "Go to", "Go to a screen by name (:users, :apps crm)"),
        Action("help", "question_mark", "help", "Help", "The keys of this screen"),
        Action("palette", "ctrl+p", "command_palette", "Palette", "Every action, searchable", show=False),
        # every screen with data
        Action("back", "escape", "back", "Back", "Back to the screen before", show=False),
        Action("refresh", "ctrl+r", "refresh", "Refresh", "Load again from the service (and reconnect)", show=False),
        # every list
        Action("filter", "slash", "filter", "Filter", "Filter on the server as you type"),
        Action("filter.clear", "escape", "clear_filter", "Clear filter", "Drop the filter and show every row", show=False),
        Action("open", "enter", "select_cursor", "Open", "Open the row under the cursor"),
        # apps
        _write("apps.new", "n", "new", "New", "Create an app", "apps.write", "apps/*", reach="new"),
        _write("apps.edit", "e", "edit", "Edit", "Rename or describe the app", "apps.write", "apps/*", reach="row"),
        _write("apps.delete", "d", "delete", "Delete", "Delete the app and everything in it", "apps.write", "apps/*", "delete",
               reach="row"),
        # one app's tabs
        Action("app.roles", "1", "tab('roles')", "Roles", "The app's roles", show=False),
        Action("app.permissions", "2", "tab('permissions')", "Permissions", "The app's permissions", show=False),
        Action("app.members", "3", "tab('members')", "Members", "Who holds which role", show=False),
        Action("app.keys", "4", "tab('keys')", "Keys", "The app's keys", show=False),
        _write("roles.new", "n", "new", "New", "Create a role", "apps.write", "apps/{app}/roles/*", reach="new"),
        _write("roles.edit", "e", "edit", "Edit", "Edit the role and its permissions", "apps.write", "apps/{app}/roles/*",
               reach="row"),
        _write("roles.delete", "d", "delete", "Delete", "Delete the role; its members lose it", "apps.write",
               "apps/{app}/roles/*", "delete", reach="row"),
        _write("permissions.new", "n", "new", "New", "Create a permission", "apps.write", "apps/{app}/permissions/*",
               reach="new"),
        _write("permissions.delete", "d", "delete", "Delete", "Delete the permission from every role", "apps.write",
               "apps/{app}/permissions/*", "delete", reach="row"),
        _write("members.new", "n", "new", "New", "Grant a role to a user", "grants.write", "apps/{app}/members/*",
               reach="new"),
        _write("members.delete", "d", "delete", "Delete", "Remove one of the member's roles", "grants.write",
               "apps/{app}/members/*", "delete", reach="row"),
        # keys
        # (kind and status are in `?` and the palette: with the key actions the footer would pass 80 columns)
        Action("keys.kind", "k", "cycle_kind", "Kind", "Show app keys, admin tokens, or both", show=False),
        Action("keys.status", "s", "cycle_status", "Status", "Show active, expiring within 7 days, expired or revoked keys",
               show=False),
        # {keys}: an app's keys (apps/crm/keys) on its tab, every key (**) on the Keys screen
        _write("keys.new", "n", "new", "New", "Mint a key: its plaintext is shown once", "keys.manage", "{keys}/*",
               reach="new"),
        _write("keys.edit", "e", "edit", "Edit", "Rename the key, change its limit, scopes or capabilities",
               "keys.manage", "{keys}/*", reach="row"),
        _write("keys.revoke", "d", "revoke", "Revoke", "Revoke the key (or the selected keys) at once",
               "keys.manage", "{keys}/*", "delete", reach="row"),
        _write("keys.rotate", "R", "rotate", "Rotate", "Mint a successor; the old key lives on for a grace period",
               "keys.manage", "{keys}/*", reach="row"),
        Action("keys.select", "space", "toggle_select", "Select", "Select the key for a bulk revoke", show=False),
        Action("keys.select-all", "a", "select_all", "Select all", "Select every active key listed", show=False),
        Action("keys.find-leaked", "ctrl+l", "find_leaked", "Find leaked key",
               "Identify a pasted key (or its start), then revoke or rotate it", "keys.read", show=False),
        Action("key.close", "escape,q", "close", "Close", "Close the key's record"),
        # a key's plaintext, shown once
        Action("shown.copy", "c", "copy", "Copy", "Copy the key to the clipboard"),
        Action("shown.escape", "escape", "warn", "Close", "Warns first: the key cannot be shown again", show=False),
        # the scope editor (keys that a path's input leaves alone)
        Action("scopes.add", "ctrl+n", "add_row", "Add scope", "Add a scope row", show=False),
        Action("scopes.remove", "ctrl+delete", "remove_row", "Remove scope", "Remove the scope row with the cursor",
               show=False),
        Action("scopes.up", "ctrl+up", "move_up", "Scope up", "Move the scope row up", show=False),
        Action("scopes.down", "ctrl+down", "move_down", "Scope down", "Move the scope row down", show=False),
        # a leaked key, identified
        _write("leaked.revoke", "d", "revoke", "Revoke", "Revoke the leaked key", "keys.manage", "{keys}/*", "delete",
               reach="row"),
        _write("leaked.rotate", "R", "rotate", "Rotate now", "Rotate with 0s grace: the successor is shown once",
               "keys.manage", "{keys}/*", reach="row"),
        # users
        _write("users.new", "n", "new", "New", "Create a user", "users.write", "users/*", reach="new"),
        _write("users.edit", "e", "edit", "Edit", "Rename the user", "users.write", "users/*", reach="row"),
        _write("users.delete", "d", "delete", "Delete", "Delete the user and their grants", "users.write", "users/*", "delete",
               reach="row"),
        _write("users.toggle-active", "x", "toggle_active", "(De)activate", "Cut or restore all access, grants kept",
               "users.write", "users/*", reach="row"),
        Action("users.active-filter", "a", "cycle_filter", "Active filter", "Show all, active or deactivated users",
               show=False),
        # one user
        _write("user.grant", "g", "grant", "Grant role", "Grant a role in an app", "grants.write", "apps/*/members/{email}"),
        _write("user.remove-grant", "d", "remove", "Remove role", "Remove the role under the cursor", "grants.write",
               "apps/*/members/{email}", "delete", reach="row"),
        _write("user.toggle-active", "x", "toggle_active", "(De)activate", "Cut or restore all access, grants kept",
               "users.write", "users/{email}"),
        _write("user.edit", "e", "edit", "Edit", "Rename the user", "users.write", "users/{email}"),
        # exploring access: from an app, a user, anywhere
        Action("matrix.open", "m", "matrix", "Matrix", "The app's access matrix: members by roles", "users.read",
               "apps/{app}/members/*"),
        Action("try.open", "t", "try_request", "Try", "Try a request: what the data plane answers for a user",
               show=False),
        Action("explain", "w", "explain", "Why", "Explain: which roles give each permission, granted by whom, until when",
               "authz.explain", "apps/{app}/authz/{email}"),
        Action("export", "x", "export", "Export", "Write the app's access review (users x roles x permissions) to a file",
               "users.read", "apps/{app}/members/*", show=False),
        # the access matrix
        _write("matrix.toggle", "space", "toggle_grant", "Grant/remove", "Grant or remove the role at the cursor",
               "grants.write", "apps/{app}/members/*", reach="row"),
        Action("matrix.permission", "p", "pick_permission", "Permission",
               "Keep the users who hold a permission (through any role); its roles are highlighted"),
        Action("matrix.everyone", "a", "toggle_everyone", "Everyone", "Show users without any role in the app too",
               show=False),
        # try a request
        Action("try.copy", "c", "copy_curl", "Copy curl", "Copy the equivalent curl command (key masked)"),
        # the audit log
        Action("audit.pause", "p", "toggle_follow", "Pause/follow", "Stop or resume following new events"),
        # modals
        Action("form.cancel", "escape", "cancel", "Cancel", "Close without saving"),
        Action("form.save", "ctrl+s", "save", "Save", "Send the form"),
        Action("confirm.yes", "y", "confirm", "Yes", "Do it"),
        Action("confirm.no", "n", "no", "No", "Do not do it"),
        Action("confirm.cancel", "escape", "cancel", "Cancel", "Do not do it", show=False),
        Action("goto.cancel", "escape", "cancel", "Cancel", "Stay where you are"),
        Action("goto.complete", "tab", "complete", "Complete", "Take the completion shown", show=False),
        Action("pick.cancel", "escape", "cancel", "Cancel", "Pick nothing"),
        # the dashboard's token refused mid-session
        Action("refused.quit", "q", "quit", "Quit", "Leave the dashboard"),
        Action("refused.switch", "p", "switch_profile", "Switch profile", "Sign in with another profile of config.toml"),
        Action("refused.retry", "r", "retry", "Try again", "Ask the service again (the token may be back in force)"),
        Action("refused.stay", "escape", "stay", "Stay", "Keep what is shown (nothing loads or changes meanwhile)"),
        Action("help.close", "escape,question_mark,q", "close", "Close", "Close help"),
    )
}


def bindings(*ids: str) -> list[Binding]:
    """The ``BINDINGS`` of a node offering these actions."""
    return [ACTIONS[i].binding() for i in ids]


def by_binding(binding: Binding) -> Action | None:
    return ACTIONS.get(binding.id) if binding.id else None


class KeymapError(ValueError):
    """A ``[keymap]`` entry names no action."""


def expand_keymap(keymap: dict[str, str]) -> dict[str, str]:
    """Binding ids -> keys for Textual's ``set_keymap``: an entry is an action id or a verb (``new``)."""
    out: dict[str, str] = {}
    for name, keys in keymap.items():
        if name in ACTIONS:
            out[name] = keys
            continue
        matching = [a.id for a in ACTIONS.values() if a.verb == name]
        if not matching:
            raise KeymapError(f"keymap: no action {name!r} (actions: {', '.join(sorted(ACTIONS))})")
        for action_id in matching:
            out.setdefault(action_id, keys)
    # An exact id wins over its verb, whatever the order in the file.
    out.update({name: keys for name, keys in keymap.items() if name in ACTIONS})
    return out
