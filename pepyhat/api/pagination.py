"""The query parameters every list takes: ``limit``, ``cursor`` and, where it makes sense, ``q``."""

from __future__ import annotations

from fastapi import Query

Limit = Query(50, ge=1, le=500, description="Rows per page (max 500)")
Cursor = Query(None, max_length=1000, description="Opaque cursor from the previous page's next_cursor")
Search = Query(None, max_length=200, description="Case-insensitive substring search")
