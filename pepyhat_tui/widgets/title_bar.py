"""A screen's title line: what it shows on the left, its counts on the right.

At 80 columns the left side gives way (cut with an ellipsis), never the counts.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static


class TitleBar(Horizontal):
    DEFAULT_CSS = """
    TitleBar {
        height: 1;
        padding: 0 1;
    }
    TitleBar > #title-main {
        width: 1fr;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    TitleBar > #title-counts {
        width: auto;
        padding-left: 2;
        color: $text-muted;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(id="title-main")
        yield Static(id="title-counts")

    def show(self, main: Text, counts: Text | str = "") -> None:
        self.query_one("#title-main", Static).update(main)
        self.query_one("#title-counts", Static).update(Text(counts) if isinstance(counts, str) else counts)

    @property
    def text(self) -> str:
        """Both halves as plain text (what the operator reads)."""
        parts = [self.query_one(f"#{part}", Static).visual for part in ("title-main", "title-counts")]
        return "  ".join(getattr(p, "plain", str(p)) for p in parts).strip()
