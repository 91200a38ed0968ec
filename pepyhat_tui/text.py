"""Service text, shown literally.

Whatever an admin token can write, every other operator's terminal renders: a
name is attacker-controlled input to the terminal.  So text from the service
is never parsed as markup (``Evil [/] name`` is a name, not a closing tag) and
never reaches the terminal with its control characters: an ESC would let a
name set the window title or write the clipboard (OSC 52), a bidi override
would reorder what the operator reads.  Such characters are shown as visible
escapes (``\\x1b``, ``\\u202e``) instead.

Rich and Textual strip only BEL, BS, VT, FF and CR; everything else in the C0
and C1 ranges, and every format character (bidi controls, zero-width
characters), is escaped here.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from rich.text import Text

# Categories escaped: Cc (C0, DEL, C1), Cf (bidi controls and isolates, zero-width
# space/joiners, BOM, soft hyphen...), Zl and Zp (line and paragraph separators), and
# Cs (a lone surrogate, which JSON can carry and no terminal encoding can write).
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
CELL_LIMIT = 120  # a table cell shows at most this many characters; the detail shows all


@lru_cache(maxsize=65536)
def _escape_char(char: str) -> str:
    if unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    point = ord(char)
    return f"\\x{point:02x}" if point < 0x100 else f"\\u{point:04x}" if point < 0x10000 else f"\\U{point:08x}"


def printable(value: object) -> str:
    """``value`` as text with every control, format or separator character escaped."""
    text = "" if value is None else str(value)
    if text.isprintable():  # the common case, in C: nothing to escape
        return text
    return "".join(map(_escape_char, text))


def literal(value: object, style: str = "", *, limit: int | None = None) -> Text:
    """A Rich ``Text`` showing ``value`` exactly (no markup), escaped, cut to ``limit`` characters."""
    text = printable(value)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return Text(text, style=style, no_wrap=limit is not None, end="")


def join(*parts: str | Text | tuple[object, str], separator: str = "") -> Text:
    """Assemble a line from our own strings, ``Text`` pieces and ``(service value, style)`` pairs.

    Plain strings are ours (labels, punctuation); a pair's value is service text and
    goes through ``literal``.
    """
    out = Text(end="")
    for index, part in enumerate(parts):
        if index and separator:
            out.append(separator)
        if isinstance(part, tuple):
            out.append_text(literal(part[0], part[1]))
        elif isinstance(part, Text):
            out.append_text(part)
        else:
            out.append(part)
    return out


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """``1 row``, ``2 rows``; ``plural_form`` for irregular nouns."""
    return f"{count} {noun if count == 1 else plural_form or noun + 's'}"
