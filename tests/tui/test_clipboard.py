"""pepyhat_tui.clipboard: which way a shown-once key is copied, and what reaches the terminal.

The driver's writes are recorded (a headless driver made to count as a terminal);
the tmux cases run a private tmux server of their own.
"""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import pyperclip
import pytest
from textual.app import App
from textual.drivers.headless_driver import HeadlessDriver

from pepyhat_tui import clipboard
from pepyhat_tui.clipboard import MAX_SEQUENCE, Copied, Way, copy

SECRET = "phk_test_9dQ2vX7LmR4tB8zK1nW6yH3cJ5pF0sGa"
SSH = {"SSH_TTY": "/dev/pts/3", "SSH_CONNECTION": "10.0.0.1 50000 10.0.0.2 22"}

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")


def osc52(text: str) -> str:
    return f"\x1b]52;c;{base64.b64encode(text.encode()).decode()}\a"


class Host(App[None]):
    """The least app with a driver."""


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What the app writes to its terminal: a headless driver that records and counts as one."""
    written: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "is_headless", property(lambda self: False))
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    return written


@pytest.fixture
def system_clipboard(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What pyperclip was given (it works)."""
    given: list[str] = []
    monkeypatch.setattr(pyperclip, "copy", given.append)
    return given


@pytest.fixture
def broken_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(text: str) -> None:
        raise pyperclip.PyperclipException("could not find a copy/paste mechanism for your system")

    monkeypatch.setattr(pyperclip, "copy", fail)


async def copied(text: str, env: dict[str, str], written: list[str]) -> Copied:
    """``copy`` in a running app, with only what the copy itself wrote left in ``written``."""
    async with Host().run_test() as pilot:
        await pilot.pause()
        written.clear()  # the app's own painting
        result = copy(pilot.app, text, env)
        ours = list(written)
    written[:] = ours
    return result


async def test_over_ssh_osc52_goes_through_the_driver(terminal, system_clipboard):
    result = await copied(SECRET, {"SSH_TTY": "/dev/pts/3"}, terminal)
    assert terminal == [osc52(SECRET)]
    assert (result.way, result.message, result.ok) == (Way.OSC52, "copied through the terminal (OSC 52)", True)
    assert system_clipboard == []  # the server's clipboard is not the operator's


async def test_ssh_connection_alone_is_ssh(terminal, system_clipboard):
    result = await copied(SECRET, {"SSH_CONNECTION": SSH["SSH_CONNECTION"]}, terminal)
    assert (result.way, terminal, system_clipboard) == (Way.OSC52, [osc52(SECRET)], [])


async def test_pyperclip_raising_falls_back_to_osc52(terminal, broken_clipboard):
    result = await copied(SECRET, {}, terminal)
    assert terminal == [osc52(SECRET)]
    assert result.message == "copied through the terminal (OSC 52)"


async def test_pyperclip_working_is_the_system_clipboard_and_nothing_reaches_the_terminal(terminal, system_clipboard):
    result = await copied(SECRET, {}, terminal)
    assert system_clipboard == [SECRET]
    assert terminal == []
    assert (result.way, result.message) == (Way.SYSTEM, "copied to the system clipboard")


async def test_in_screen_the_dcs_wrap(terminal, system_clipboard):
    result = await copied(SECRET, {"STY": "1234.pts-0.host", **SSH}, terminal)
    assert terminal == ["\x1bP" + osc52(SECRET) + "\x1b\\"]
    assert (result.way, result.message) == (Way.SCREEN, "copied through the terminal (OSC 52)")
    assert system_clipboard == []


async def test_in_screen_a_long_sequence_goes_as_pieces_screen_keeps_whole(terminal):
    text = "k" * 2000
    result = await copied(text, {"STY": "1234.pts-0.host"}, terminal)
    (wrapped,) = terminal
    pieces = wrapped.split("\x1b\\")[:-1]
    assert all(piece.startswith("\x1bP") and len(piece) - 2 <= 768 - 4 for piece in pieces)
    assert len(pieces) > 1
    assert "".join(piece[2:] for piece in pieces) == osc52(text)
    assert result.way is Way.SCREEN


@pytest.mark.parametrize("env", [SSH, {"STY": "1234.pts-0.host"}, {}], ids=["ssh", "screen", "pyperclip-broken"])
async def test_over_the_length_limit_fails_and_sends_nothing(terminal, broken_clipboard, env):
    text = "x" * (MAX_SEQUENCE * 3 // 4)  # its base64 alone is the limit
    result = await copied(text, env, terminal)
    assert terminal == []
    assert (result.way, result.ok) == (Way.FAILED, False)
    assert result.message == "copy failed: select the key and copy it by hand"


async def test_just_under_the_limit_is_sent_whole(terminal):
    text = "x" * ((MAX_SEQUENCE - len(osc52(""))) // 4 * 3)
    assert len(osc52(text)) <= MAX_SEQUENCE
    result = await copied(text, SSH, terminal)
    assert (result.way, terminal) == (Way.OSC52, [osc52(text)])


async def test_no_terminal_is_a_failure_not_a_claim():
    # A headless driver (as in every pilot test) writes nowhere; an app not running has no driver.
    async with Host().run_test() as pilot:
        assert copy(pilot.app, SECRET, SSH).way is Way.FAILED
    assert copy(Host(), SECRET, SSH).way is Way.FAILED


async def test_the_app_keeps_nothing(terminal, broken_clipboard):
    # App.copy_to_clipboard would leave the key in app.clipboard, for any Input's ctrl+v.
    async with Host().run_test() as pilot:
        copy(pilot.app, SECRET, SSH)
        assert pilot.app.clipboard == ""
    assert SECRET not in repr(vars(clipboard))


async def test_tmux_unreachable_falls_back_to_plain_osc52(terminal, system_clipboard):
    # No server on that socket (or no tmux at all): plain OSC 52, which tmux takes; never the DCS wrap.
    env = {"TMUX": f"/nonexistent/pepyhat-{uuid.uuid4().hex},1,0", **SSH}
    result = await copied(SECRET, env, terminal)
    assert terminal == [osc52(SECRET)]
    assert result.way is Way.OSC52
    assert system_clipboard == []


async def test_the_secret_is_in_no_log_record_nor_the_result(terminal, broken_clipboard, caplog):
    caplog.set_level(logging.DEBUG)
    encoded = base64.b64encode(SECRET.encode()).decode()
    envs = [{}, SSH, {"STY": "1"}, {"TMUX": f"/nonexistent/{uuid.uuid4().hex},1,0"}]
    results = [await copied(SECRET, env, terminal) for env in envs]
    # And the failures: no driver, too long.
    results += [copy(Host(), SECRET, SSH), await copied(SECRET * 5000, SSH, terminal)]
    assert [result.way for result in results][-2:] == [Way.FAILED, Way.FAILED]
    assert any(record.name == "pepyhat_tui.clipboard" for record in caplog.records)
    for record in caplog.records:
        seen = f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        assert SECRET not in seen and encoded not in seen
    for result in results:
        assert SECRET not in repr(result) and encoded not in repr(result) and SECRET not in str(result)


class Tmux:
    """A private tmux server (its own socket, no configuration) with set-clipboard on."""

    def __init__(self) -> None:
        self.name = f"pepyhat-clip-{uuid.uuid4().hex[:12]}"

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # Not the tmux this test may itself be running in.
        env = {name: value for name, value in os.environ.items() if not name.startswith("TMUX")}
        return subprocess.run(
            ["tmux", "-L", self.name, *args], env=env, capture_output=True, text=True, timeout=5, check=check
        )

    def buffers(self) -> list[str]:
        names = self("list-buffers", "-F", "#{buffer_name}", check=False).stdout.split()
        return [self("show-buffer", "-b", name).stdout for name in names]

    def wait_for_buffer(self, text: str, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while text not in (buffers := self.buffers()):
            assert time.monotonic() < deadline, f"tmux's buffers never held the text: {buffers!r}"
            time.sleep(0.02)
        return buffers


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    server = Tmux()
    server("-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "80", "-y", "24", "sleep 300")
    try:
        server("set", "-g", "set-clipboard", "on")
        yield server
    finally:
        server("kill-server", check=False)


@needs_tmux
async def test_in_tmux_load_buffer_holds_the_text(tmux, terminal, system_clipboard):
    env = {"TMUX": tmux("display", "-p", "#{socket_path},#{pid},0").stdout.strip()}
    result = await copied(SECRET, env, terminal)
    assert tmux("show-buffer").stdout == SECRET
    assert (result.way, result.message) == (Way.TMUX, "copied to tmux's buffer (and the terminal's clipboard)")
    assert terminal == [] and system_clipboard == []


@needs_tmux
def test_in_tmux_plain_osc52_reaches_the_buffer_and_the_passthrough_wrap_does_not(tmux):
    # Why the fallback inside tmux is plain OSC 52: tmux 3.3+ drops the DCS passthrough
    # wrap (allow-passthrough off by default), while it takes the plain one (set-clipboard).
    wrapped, plain = "wrapped-" + SECRET, "plain-" + SECRET
    encode = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    program = (
        f"printf '\\033Ptmux;\\033\\033]52;c;%s\\007\\033\\\\' {encode(wrapped)};"
        f" printf '\\033]52;c;%s\\007' {encode(plain)}; sleep 300"
    )
    tmux("new-window", "-d", program)
    # The pane's output is read in order, so once the plain one is in, the wrapped one was read too.
    assert tmux.wait_for_buffer(plain) == [plain]
