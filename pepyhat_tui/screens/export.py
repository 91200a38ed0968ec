"""`x` on an app or its matrix: write the app's access review to a file, and say where.

The same file as ``pepyhat export access --app <slug>`` (``pepyhat.review``
writes both).  The path starts as ``access-<app>-<date>.csv`` in the directory
the dashboard was started from; changing the format changes its extension.  An
existing file is replaced only when asked twice.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.widgets import RadioButton, RadioSet

from pepyhat import review
from pepyhat_tui.client import ClientError
from pepyhat_tui.screens.form import FormScreen, field
from pepyhat_tui.text import join


class ExportScreen(FormScreen):
    DEFAULT_CSS = """
    ExportScreen RadioSet {
        layout: horizontal;
        height: auto;
        border: none;
        padding: 0;
    }
    """

    def __init__(self, app_slug: str, directory: Path | None = None) -> None:
        super().__init__(join("Export the access review of ", (app_slug, "")), self._export, "Export")
        self.app_slug = app_slug
        self.directory = directory or Path.cwd()
        self._replace: Path | None = None  # an existing file the operator was warned about

    def fields(self) -> ComposeResult:
        with RadioSet(id="format"):
            for index, name in enumerate(review.FORMATS):
                yield RadioButton(name.upper(), value=index == 0, id=f"format-{name}")
        yield from field("Write to", self.text_field("path", str(self.directory / self._suggested("csv"))))

    def _suggested(self, format: str) -> str:
        return review.filename(self.app_slug, format, self.dashboard.now())

    def on_mount(self) -> None:
        self.query_one("#path").focus()

    @property
    def format(self) -> str:
        pressed = self.query_one("#format", RadioSet).pressed_button
        return (pressed.id or "format-csv").removeprefix("format-") if pressed else "csv"

    @on(RadioSet.Changed)
    def _format_changed(self) -> None:
        path = self.query_one("#path")
        current = Path(path.value)
        if current.suffix.lstrip(".") in review.FORMATS:  # the suggested name follows; a chosen one is kept
            path.value = str(current.with_suffix(f".{self.format}"))

    def build(self) -> tuple[Path, str]:
        text = self.value("path")
        if not text:
            raise ValueError("write to: give a file path")
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = self.directory / path
        if path.is_dir():
            raise ValueError(f"{path} is a directory: add a file name")
        if not path.parent.is_dir():
            raise ValueError(f"{path.parent} does not exist")
        if path.exists() and self._replace != path:
            self._replace = path
            raise ValueError(f"{path.name} exists: export again to replace it")
        return path, self.format

    async def _export(self, body: tuple[Path, str]) -> str:
        path, format = body
        found = await self.dashboard.client.access_review(self.app_slug)

        def write() -> None:
            with path.open("w", encoding="utf-8", newline="") as out:
                review.write(found, format, out)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            raise ClientError(None, "cannot_write", f"cannot write {path}: {exc.strerror or exc}") from None
        message = f"Access review of {found.app} written to {path}: {review.summary(found)}"
        self.notify(message, title="Exported", timeout=10)
        return str(path)
