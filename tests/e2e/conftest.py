"""What the end-to-end tests share: a real ``pepyhat serve`` and a private tmux server.

A real server process on a fresh SQLite file (``init`` + ``demo-data``), the
dashboard started in a detached tmux session (works headless, no TTY needed),
driven with ``send-keys`` and read with ``capture-pane``.  Every wait polls the
pane with a deadline; nothing sleeps for a fixed long time.

Textual draws on stderr: the dashboard's stderr is never redirected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from tests.conftest import fresh_database
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
WAIT = 15.0


def pepyhat(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pepyhat.cli", *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


def dashboard_command() -> list[str]:
    """The installed ``pepyhat-tui`` script when it sits beside this interpreter, else the module."""
    script = Path(sys.executable).with_name("pepyhat-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pepyhat_tui.cli"]


# -- a real server ----------------------------------------------------------------------


class Server:
    def __init__(self, url: str, token: str, process: subprocess.Popen, database: Path) -> None:
        self.url = url
        self.token = token
        self.process = process
        self.database = database

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10)


class Serve:
    """``pepyhat serve`` as a child process on a free loopback port (or ``port``), ready when constructed."""

    def __init__(self, db: str, log: Path, *args: str, port: int | None = None, env: dict | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pepyhat.cli", "serve", "--db", db, "--port", str(self.port), *args],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 60) -> None:  # two workers on a loaded 2-core machine: ~15 s seen
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"pepyhat serve exited {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"pepyhat serve did not become ready in {timeout:.0f} s: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def init_token(db: str) -> str:
    """``pepyhat init`` on ``db``: the superadmin token it prints."""
    init = pepyhat("init", "--db", db)
    assert init.returncode == 0, init.stderr
    token = init.stdout.strip()
    assert token.startswith("pha_") and "\n" not in token, init.stdout
    return token


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path) -> Iterator[str]:
    """A fresh database URL on each backend (PostgreSQL: a database of its own, dropped after)."""
    with fresh_database(request.param, tmp_path / "pepyhat.db") as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("e2e")
    db = f"sqlite:///{folder / 'pepyhat.db'}"
    token = init_token(db)
    demo = pepyhat("demo-data", "--db", db)
    assert demo.returncode == 0, demo.stderr
    serve = Serve(db, folder / "serve.log")
    try:
        yield Server(serve.url, token, serve.process, folder / "pepyhat.db")
    finally:
        serve.stop()


# -- tmux ---------------------------------------------------------------------------------


class Tmux:
    """One detached session on a private tmux server (its own socket, no user config)."""

    def __init__(self, width: int = 120, height: int = 36) -> None:
        self.socket = f"pepyhat-e2e-{uuid.uuid4().hex[:10]}"
        self.session = "tui"
        self.env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        # capture-pane prints box drawing and ellipses only in a UTF-8 locale.
        self.env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
        self.tmux(
            "new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height), "-c", str(ROOT),
            "bash --noprofile --norc",
        )

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, env=self.env, timeout=10
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def keys(self, *keys: str) -> None:
        """tmux key names: Enter, Tab, Escape, C-r, or single characters."""
        for key in keys:
            self.tmux("send-keys", "-t", self.session, key)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def pane_title(self) -> str:
        return self.tmux("display-message", "-p", "-t", self.session, "#{pane_title}").strip()

    def wait_for(self, *texts: str, timeout: float = WAIT, gone: bool = False) -> str:
        """Poll the pane until every text is on it (or, with gone, none is)."""
        check: Callable[[str], bool] = (
            (lambda screen: not any(t in screen for t in texts)) if gone else (lambda screen: all(t in screen for t in texts))
        )
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                what = "gone" if gone else "shown"
                raise AssertionError(f"not {what} within {timeout:.0f} s: {texts!r}\n--- pane ---\n{screen}")
            time.sleep(0.05)

    def wait_for_cursor_after(self, label: str, timeout: float = WAIT) -> None:
        """Poll until the terminal's cursor sits to the right of ``label`` (an input with that label has the focus).

        Keys sent before then may reach the widget that had the focus: Textual moves the focus
        on Tab only after the old widget has declined the key, and tmux delivers what follows at once.
        """
        deadline = time.monotonic() + timeout
        while True:
            x, y = (int(v) for v in self.tmux("display-message", "-p", "-t", self.session, "#{cursor_x} #{cursor_y}").split())
            lines = self.screen().splitlines()
            if y < len(lines) and label in lines[y][:x]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the cursor is not after {label!r} within {timeout:.0f} s: at {x},{y}")
            time.sleep(0.05)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env, timeout=10)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("PEPYHAT_REQUIRE_SERVICES") == "1":
            pytest.fail("tmux is not installed (PEPYHAT_REQUIRE_SERVICES=1)")
        pytest.skip("tmux is not installed")
    session = Tmux()
    try:
        yield session
    finally:
        session.close()
