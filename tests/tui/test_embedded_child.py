"""The embedded service's child process: a private socket, dies with the dashboard, says why it failed.

(That the dashboard's own process then loads no service code is tests/test_import_hygiene.py.)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from pepyhat.embedded import EmbeddedChild, start_child
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.client import ClientError
from pepyhat_tui.config import Target

ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0  # a liveness bound, not a speed check


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # a zombie has exited (nobody may reap it in a container)


def wait_for(check, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what}")
        time.sleep(0.05)


def get(child: EmbeddedChild, path: str, **kwargs) -> httpx.Response:
    transport = httpx.HTTPTransport(uds=str(child.socket_path))
    with httpx.Client(transport=transport, base_url="http://pepyhat.embedded", timeout=WAIT) as http:
        return http.get(path, **kwargs)


@pytest.fixture
def demo_child():
    child = start_child(None, "tester (embedded)", demo=True)
    try:
        yield child
    finally:
        child.stop()


def test_the_child_serves_the_operator_on_a_private_socket(demo_child):
    child = demo_child
    assert child.directory.stat().st_mode & 0o777 == 0o700  # only its owner can reach the socket
    assert child.socket_path.stat().st_mode & 0o777 == 0o600
    answer = get(child, "/api/v1/auth/validate")  # no token: the operator, every capability
    assert answer.status_code == 200, answer.text
    assert answer.json()["key"]["name"] == "tester (embedded)"
    assert "billing" in [a["slug"] for a in get(child, "/api/v1/apps").json()["data"]]
    # A token is still a token: a wrong one is refused, not promoted to the operator.
    refused = get(child, "/api/v1/apps", headers={"Authorization": "Bearer pha_" + "a" * 48})
    assert refused.status_code == 401


def test_stopping_removes_the_child_and_its_directory(demo_child):
    child = demo_child
    assert get(child, "/healthz").status_code == 200
    child.stop()
    assert child.process.returncode == 0  # asked to stop (EOF on its pipe), it stopped cleanly
    assert not child.directory.exists()  # the demo database with it


PARENT = textwrap.dedent("""
    import sys, time
    from pepyhat.embedded import start_child
    child = start_child(None, "tester (embedded)", demo=True)
    print(child.process.pid, child.directory, flush=True)
    time.sleep(600)
""")


def test_the_child_dies_with_a_killed_dashboard():
    """SIGKILL leaves the dashboard no chance to clean up: the child notices and goes, directory and all."""
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, cwd=ROOT, stdin=subprocess.DEVNULL
    )
    try:
        pid, directory = parent.stdout.readline().split()
        pid, directory = int(pid), Path(directory)
        socket_path = directory / "service.sock"
        transport = httpx.HTTPTransport(uds=str(socket_path))
        with httpx.Client(transport=transport, base_url="http://x", timeout=WAIT) as http:
            assert http.get("/healthz").status_code == 200
        assert not gone(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        wait_for(lambda: gone(pid), "the orphaned child to exit")
        wait_for(lambda: not directory.exists(), "the private directory to go")
    finally:
        parent.kill()
        parent.wait()


def test_the_child_refuses_a_network_socket(tmp_path):
    """Tokenless requests act as the operator: the child serves that on a Unix socket only."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    with listener:
        result = subprocess.run(
            [sys.executable, "-m", "pepyhat.embedded", "--fd", str(listener.fileno()), "--db", str(tmp_path / "x.db"),
             "--operator", "tester", "--directory", str(tmp_path), "--parent", str(os.getpid())],
            pass_fds=(listener.fileno(),), capture_output=True, text=True, timeout=60, stdin=subprocess.PIPE,
        )
    assert result.returncode == 1
    assert "refusing to serve the operator on anything but a private Unix socket" in result.stderr
    assert not (tmp_path / "x.db").exists()  # it did not even open the database


async def test_a_child_that_cannot_start_is_reported_in_one_line(tmp_path):
    database = tmp_path / "pepyhat.db"
    database.write_bytes(b"this is not a database" * 100)
    child = start_child(database, "tester (embedded)")
    app = PepyHatApp(Target("embedded", "embedded", database=database), embedded=child)
    try:
        async with app.run_test() as pilot:
            with pytest.raises(ClientError) as raised:
                await app.wait_client()
            await pilot.pause()
            message = raised.value.message
            assert raised.value.code == "startup_failed"
            assert message.startswith("the embedded service stopped (exit 1): ")
            assert "file is not a database" in message
            assert "Traceback" not in message and "\n" not in message
            toasts = [n.message for n in app._notifications]
            assert message in toasts
            assert "disconnected" in str(app.screen.query_one("EnvironmentBar").render())
    finally:
        child.stop()
    assert not child.directory.exists()


# The demo child's schema step, in a fresh process each time: did it need Alembic?
DEMO_SCHEMA = """
import json, sys
from pathlib import Path
from pepyhat.embedded import _demo_schema
from pepyhat.store.db import head_revisions, make_engine, schema_revisions
_demo_schema(Path(sys.argv[1]))
at = sorted(schema_revisions(make_engine("sqlite:///" + sys.argv[1])))
print(json.dumps({"alembic": "alembic" in sys.modules, "at": at, "head": sorted(head_revisions())}))
"""


def test_the_demo_schema_is_migrated_once_then_copied(tmp_path):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def demo_schema(name: str) -> dict:
        result = subprocess.run([sys.executable, "-c", DEMO_SCHEMA, str(tmp_path / name)], capture_output=True,
                                text=True, timeout=120, env=env, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    first = demo_schema("first.db")
    assert first["alembic"] and first["at"] == first["head"]  # migrated, and kept as the template
    [template] = (tmp_path / "cache" / "pepyhat").glob("schema-*.db")
    second = demo_schema("second.db")
    assert not second["alembic"] and second["at"] == second["head"]  # copied: Alembic not even loaded
    template.write_bytes(b"not a database" * 100)  # a damaged template is not trusted: migrated again
    third = demo_schema("third.db")
    assert third["alembic"] and third["at"] == third["head"]
    assert not demo_schema("fourth.db")["alembic"]  # and the template is whole again


async def test_a_child_that_dies_mid_session_is_named_and_not_probed_forever(demo_child):
    """The embedded service killed under the dashboard: the bar and banner say it stopped, and why."""
    from pepyhat_tui.widgets.banner import Banner

    app = PepyHatApp(Target("demo", "demo"), embedded=demo_child, retry_delays=(0.2,), heartbeat=0.5)
    async with app.run_test(size=(120, 36)) as pilot:
        await app.wait_client()
        deadline = time.monotonic() + WAIT
        while not app.screen.query_one("#table").items:
            assert time.monotonic() < deadline, "the apps list"
            await pilot.pause(0.05)
        demo_child.process.kill()
        demo_child.process.wait(timeout=WAIT)
        bar = app.screen.query_one("EnvironmentBar")
        while "embedded service stopped" not in str(bar.render()):
            assert time.monotonic() < deadline + WAIT, str(bar.render())
            await pilot.pause(0.05)
        banner = app.screen.query_one(Banner)
        shown = str(banner.render())
        assert banner.display and "the embedded service stopped (killed by SIGKILL)" in shown, shown
        assert "start pepyhat-tui again" in shown and "Traceback" not in shown
        await pilot.pause(1.0)  # a dead child is not probed: no retry is pending
        assert app.watcher.next_probe_in is None and not app.watcher.probing
