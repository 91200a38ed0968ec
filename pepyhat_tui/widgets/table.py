"""The dashboard's DataTable: service text shown literally, rows repainted after measuring them."""

from __future__ import annotations

from typing import Any, Iterable

from textual.widgets import DataTable
from textual.widgets.data_table import CellType, ColumnKey, RowKey

from pepyhat_tui.text import CELL_LIMIT, literal


def _cell(value: Any) -> Any:
    # DataTable reads a str cell as markup: a name like "Evil [/] name" would crash it.
    return literal(value, limit=CELL_LIMIT) if isinstance(value, str) else value


class Table(DataTable):
    DEFAULT_CSS = """
    Table {
        height: 1fr;
    }
    """

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None, label: Any = None) -> RowKey:
        return super().add_row(*map(_cell, cells), height=height, key=key, label=label)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType, *,
                    update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, _cell(value), update_width=update_width)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        # Textual (8.2) caches painted lines under a counter that measuring new rows does
        # not bump: a row painted between add_row and the table's idle kept header-wide
        # columns ("bill  Bill" for "billing  Billing") until the cursor moved.
        self._update_count += 1
        self.refresh()
