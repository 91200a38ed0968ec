"""The keys bar: Textual's Footer, rebuilt only when the keys it shows have changed."""

from __future__ import annotations

from typing import Hashable

from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    """Textual's footer rebuilds all its keys for every ``refresh_bindings()`` (a page loaded,
    the cursor moved, the focus changed), each queued on its own: opening Users queued 29
    rebuilds, ~120 ms of the open (cProfile, 2026-12-03), nearly all of them of the same keys.
    Here one rebuild is queued at a time, and it is skipped when the keys would come out the
    same.  (Overrides ``bindings_changed``, whose body it keeps; textual is pinned below 9.)"""

    _rebuild_queued = False
    _built_for: Hashable = None

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus or self._rebuild_queued:
            return
        if self.is_attached and screen is self.screen:
            self._rebuild_queued = True
            self.call_after_refresh(self.recompose)

    def _shown(self) -> Hashable:
        """Everything ``Footer.compose`` reads: each binding, enabled or not, its tooltip and key display."""
        app = self.app
        return self.compact, self.show_command_palette, tuple(
            (key, binding.action, binding.description, binding.show, binding.group, app.get_key_display(binding),
             enabled, tooltip)
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
        )

    async def recompose(self) -> None:
        self._rebuild_queued = False  # (first: a change while rebuilding queues another)
        if not self.is_attached:  # (queued, then its screen went)
            return
        shown = self._shown() if self._bindings_ready else None
        if shown is not None and shown == self._built_for:
            return
        self._built_for = shown
        await super().recompose()
