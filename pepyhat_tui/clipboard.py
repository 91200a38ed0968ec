"""Copy a secret (a key shown once) to wherever a clipboard can be reached from here.

Over SSH, or where no native clipboard works, the terminal's clipboard through
OSC 52; inside tmux, tmux itself (``tmux load-buffer -w -``); inside GNU screen,
OSC 52 in the DCS wrap screen passes on; otherwise the system clipboard through
pyperclip.  ``copy`` says which way it went so the modal can tell the operator.

The text is never logged, never put in an exception, a command line or an
attribute: it lives in this call's locals only.
"""

from __future__ import annotations

import base64
import enum
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pyperclip
from textual.app import App

logger = logging.getLogger(__name__)

# The longest OSC 52 sequence sent: xterm's and tmux's limit is about this.  Above it a
# terminal drops or truncates the sequence, and a truncated key is worse than none.
MAX_SEQUENCE = 100_000
# GNU screen keeps at most 768 bytes of one DCS string (since 4.2.1; older ones less),
# so a longer sequence goes as several, each passed on in turn; 4 for ESC P and ESC \.
SCREEN_CHUNK = 768 - 4
# tmux answers in milliseconds; a hung server must not hang the dashboard.
TMUX_TIMEOUT = 2.0


class Way(enum.Enum):
    """Which way the text went."""

    OSC52 = "osc52"
    SCREEN = "screen"  # OSC 52 in GNU screen's DCS wrap
    TMUX = "tmux"
    SYSTEM = "system"
    FAILED = "failed"


_MESSAGES = {
    Way.OSC52: "copied through the terminal (OSC 52)",
    Way.SCREEN: "copied through the terminal (OSC 52)",
    Way.TMUX: "copied to tmux's buffer (and the terminal's clipboard)",
    Way.SYSTEM: "copied to the system clipboard",
    Way.FAILED: "copy failed: select the key and copy it by hand",
}


@dataclass(frozen=True, slots=True)
class Copied:
    """The outcome of ``copy``: the way only, never the text."""

    way: Way

    @property
    def ok(self) -> bool:
        return self.way is not Way.FAILED

    @property
    def message(self) -> str:
        return _MESSAGES[self.way]


def copy(app: App[Any], text: str, env: Mapping[str, str] | None = None) -> Copied:
    """Copy ``text`` the way this environment allows (``env``: default ``os.environ``).

    Never raises for a clipboard that does not work: the result says so.  Blocks
    for at most ``TMUX_TIMEOUT`` (tmux) or as long as pyperclip takes.
    """
    env = os.environ if env is None else env
    if env.get("TMUX"):
        if _tmux_load_buffer(text, env):
            return Copied(Way.TMUX)
        # Plain OSC 52, not the DCS passthrough wrap: tmux 3.3 and later drop that by
        # default (allow-passthrough off), while the plain one reaches tmux's buffer
        # and the outer terminal when set-clipboard is on.
        return _osc52(app, text)
    if env.get("STY"):
        return _screen(app, text)
    if env.get("SSH_TTY") or env.get("SSH_CONNECTION"):
        # pyperclip would reach the server's clipboard (or an X forwarded one), not the operator's.
        return _osc52(app, text)
    try:
        pyperclip.copy(text)
    except Exception as error:  # PyperclipException, or whatever its backend raises
        logger.debug("clipboard: pyperclip failed (%s), trying OSC 52", type(error).__name__)
        return _osc52(app, text)
    return Copied(Way.SYSTEM)


def _sequence(text: str) -> str | None:
    """The OSC 52 sequence setting the clipboard to ``text``, or None if too long to send."""
    sequence = f"\x1b]52;c;{base64.b64encode(text.encode('utf-8')).decode('ascii')}\a"
    if len(sequence) > MAX_SEQUENCE:
        logger.debug("clipboard: %d bytes of OSC 52 is over the %d a terminal takes", len(sequence), MAX_SEQUENCE)
        return None
    return sequence


def _osc52(app: App[Any], text: str) -> Copied:
    sequence = _sequence(text)
    return Copied(Way.OSC52) if sequence is not None and _write(app, sequence) else Copied(Way.FAILED)


def _screen(app: App[Any], text: str) -> Copied:
    sequence = _sequence(text)
    if sequence is None:
        return Copied(Way.FAILED)
    # screen passes a DCS string's content to the outer terminal as it is; the pieces
    # arrive one after another and the terminal reads them as one OSC 52.
    wrapped = "".join(
        f"\x1bP{sequence[start:start + SCREEN_CHUNK]}\x1b\\" for start in range(0, len(sequence), SCREEN_CHUNK)
    )
    return Copied(Way.SCREEN) if _write(app, wrapped) else Copied(Way.FAILED)


def _write(app: App[Any], data: str) -> bool:
    """Write ``data`` to the terminal through the app's driver; False if there is no terminal.

    Not ``App.copy_to_clipboard``: it also keeps the text in ``app.clipboard`` (which
    Input and TextArea paste from) after the call.  Textual has no public way to the
    driver, so this reads the private ``App._driver``, as ``copy_to_clipboard`` and
    ``bell`` do.  Like ``bell``, it counts a headless driver (tests, ``run(headless=True)``)
    as no terminal: what it is given goes nowhere.
    """
    driver = app._driver
    if driver is None or driver.is_headless:
        logger.debug("clipboard: no terminal to write OSC 52 to")
        return False
    try:
        driver.write(data)
        driver.flush()
    except Exception as error:  # a driver not in application mode asserts
        logger.debug("clipboard: the driver refused the write (%s)", type(error).__name__)
        return False
    return True


def _tmux_load_buffer(text: str, env: Mapping[str, str]) -> bool:
    """Give ``text`` to tmux on stdin (never argv, which ps shows); ``-w`` passes it to the terminal too."""
    if _sequence(text) is None:  # the terminal would not take it from tmux either
        return False
    # tmux finds its server (and pane) from TMUX and TMUX_PANE: take those from env only.
    child_env = {name: value for name, value in os.environ.items() if not name.startswith("TMUX")}
    child_env.update((name, value) for name, value in env.items() if name.startswith("TMUX"))
    try:
        done = subprocess.run(
            ["tmux", "load-buffer", "-w", "-"], input=text.encode("utf-8"), env=child_env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TMUX_TIMEOUT, check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:  # no tmux binary, a timeout
        logger.debug("clipboard: tmux load-buffer failed (%s), trying OSC 52", type(error).__name__)
        return False
    if done.returncode != 0:  # no server there, or a tmux before 3.2 without -w
        logger.debug("clipboard: tmux load-buffer exited %d, trying OSC 52", done.returncode)
        return False
    return True
