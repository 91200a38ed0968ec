"""The `/` filter: hidden until asked for; typing filters on the server."""

from __future__ import annotations

from textual.widgets import Input


class FilterInput(Input):
    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="filter…  (enter keeps it, escape clears)", **kwargs)

    def on_mount(self) -> None:
        self.display = False
