"""The `/` filter: hidden until asked for; typing filters on the server."""

from __future__ import annotations

from pepyhat_tui.widgets.text_input import TextInput


class FilterInput(TextInput):
    DEFAULT_CSS = """
    FilterInput {
        height: 3;
        margin: 0 1;
        display: none;
    }
    """

    def __init__(self, placeholder: str = "filter", **kwargs) -> None:
        super().__init__(placeholder=f"{placeholder}…  (enter keeps it, escape clears)", **kwargs)
