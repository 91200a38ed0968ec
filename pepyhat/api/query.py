"""Query strings follow the text rule too (``reason`` on a revoke is stored; ``q`` and
the audit filters are echoed in errors and shown).

One app-wide dependency checks every query parameter of every admin route, so no
route can forget one.  The data plane's own route takes no dependencies: a
hostile ``app`` there is simply an app that does not exist.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from pepyhat.schemas import forbidden_characters


def refuse_hostile_text(request: Request) -> None:
    found = [e for name, value in request.query_params.multi_items() for e in forbidden_characters(value, ("query", name))]
    if found:
        raise RequestValidationError(ValidationError.from_exception_data("query", found).errors())
