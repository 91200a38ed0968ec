"""An access review written out: CSV or JSON, from ``schemas.AccessReview``.

Pure (no SQL, no HTTP), so the command line (``pepyhat export access``) and the
dashboard (``x`` on an app or its matrix) write the same file from the same
answer.  CSV is for a spreadsheet: a cell that a spreadsheet would run as a
formula (``=``, ``+``, ``-``, ``@``, a tab or a carriage return first) gets a
leading ``'``, so an operator-typed name cannot become one (CSV injection);
JSON keeps every value as it is.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import TextIO

from pepyhat import schemas

FORMATS = ("csv", "json")
COLUMNS = ("app", "email", "name", "active", "role", "permission", "granted_by", "granted_at", "expires_at", "expired")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write(review: schemas.AccessReview, format: str, out: TextIO) -> int:
    """Write the review to ``out``; returns the number of rows written."""
    if format == "json":
        json.dump(review.model_dump(mode="json"), out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif format == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in review.rows:
            values = {"app": review.app, **row.model_dump()}
            writer.writerow([_cell(values[c]) for c in COLUMNS])
    else:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    return len(review.rows)


def render(review: schemas.AccessReview, format: str) -> str:
    out = io.StringIO()
    write(review, format, out)
    return out.getvalue()


def filename(app: str, format: str, at: datetime) -> str:
    """The file name an export suggests: ``access-crm-2026-12-02.csv``."""
    return f"access-{app}-{at:%Y-%m-%d}.{format}"


def summary(review: schemas.AccessReview) -> str:
    users = len({r.email for r in review.rows})
    grants = len({(r.email, r.role) for r in review.rows})
    return f"{users} user(s), {grants} grant(s), {len(review.rows)} row(s)"
