"""Path convertors for ids with a shape of their own.

``{key_id:key_id}`` matches only ``key_`` plus 16 base62 characters, so
``/api/v1/keys/lookup`` is not mistaken for a key: a GET there is a 405 whose
``Allow`` says POST, not a 404 for a key called "lookup".
"""

from __future__ import annotations

from starlette.convertors import StringConvertor, register_url_convertor

from pepyhat.keys import ID_PATTERN


class KeyIdConvertor(StringConvertor):
    regex = ID_PATTERN


# Starlette's registry is global and read when a route is declared: the key routes import this module.
register_url_convertor("key_id", KeyIdConvertor())
