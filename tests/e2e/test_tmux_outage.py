"""End to end in a real terminal: the server dies under an open dashboard and comes back.

``pepyhat serve`` is killed (``kill -9``: no goodbye to anyone) while ``pepyhat-tui``
shows the Users list in tmux.  With no key pressed, the idle dashboard notices
(its heartbeat), says so in the environment bar and marks the rows stale; a user is
added to the database while the service is down, the service is started again on
the same port, and the list comes back by itself, holding that user.
"""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from pepyhat.store.tables import User
from tests.e2e.conftest import Serve, Tmux, dashboard_command, init_token, pepyhat

# The heartbeat (5 s) finds the outage; the first probes come 3 s and 6 s after it.
NOTICED = 20.0
BACK = 45.0


def test_server_killed_and_restarted_under_an_open_dashboard(tmp_path: Path, tmux: Tmux) -> None:
    db = f"sqlite:///{tmp_path / 'pepyhat.db'}"
    token = init_token(db)
    assert pepyhat("demo-data", "--db", db).returncode == 0
    serve = Serve(db, tmp_path / "serve.log")
    restarted = None
    try:
        tmux.type(" ".join([*dashboard_command(), "--url", serve.url, "--token", token]))
        tmux.keys("Enter")
        tmux.wait_for("Apps", "billing", "wiki")
        tmux.keys(":")
        tmux.wait_for("apps | users | keys")
        tmux.type("users")
        tmux.keys("Enter")
        tmux.wait_for("Users", "@example.com")
        tmux.keys("/")
        tmux.wait_for("filter…")
        tmux.type("back-after")
        tmux.keys("Enter")
        tmux.wait_for("0 users", "filter: back-after")

        serve.process.send_signal(signal.SIGKILL)
        serve.process.wait(timeout=10)
        screen = tmux.wait_for("disconnected — retrying in", "may be stale", timeout=NOTICED)
        assert f"cannot reach the service at {serve.url}" in screen
        assert "Traceback" not in screen

        # Written while the service is down, straight into its database.
        engine = create_engine(db)
        with Session(engine) as session, session.begin():
            session.add(User(email="back-after-restart@example.com", name="Back After", active=True))
        engine.dispose()

        restarted = Serve(db, tmp_path / "serve.log", port=serve.port)
        screen = tmux.wait_for("back-after-restart@example.com", "1 user", timeout=BACK)
        assert "disconnected" not in screen and "may be stale" not in screen
        assert "Traceback" not in screen

        tmux.keys("q")
        tmux.wait_for("Users", gone=True)
    finally:
        serve.stop()
        if restarted is not None:
            restarted.stop()
