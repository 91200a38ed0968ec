"""The dashboard's DataTable: one that repaints rows after measuring them."""

from __future__ import annotations

from typing import Iterable

from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


class Table(DataTable):
    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        super()._update_dimensions(new_rows)
        # Textual (8.2) caches painted lines under a counter that measuring new rows does
        # not bump: a row painted between add_row and the table's idle kept header-wide
        # columns ("bill  Bill" for "billing  Billing") until the cursor moved.
        self._update_count += 1
        self.refresh()
