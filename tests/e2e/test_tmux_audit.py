"""The audit log end to end: a real ``pepyhat serve``, the dashboard in tmux on `:audit`, writes through the API.

A user created with httpx while the screen is open appears on top of it (the
screen follows) while the cursor stays on the event it was on; up shows the
new event's diff below the list; `p` pauses, and a write made while
paused appears once `p` resumes.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import Server, Tmux, dashboard_command


def open_audit(server: Server, tmux: Tmux) -> str:
    tmux.type(" ".join([*dashboard_command(), "--url", server.url, "--token", server.token]))
    tmux.keys("Enter")
    tmux.wait_for("Apps", "billing", "wiki")
    tmux.keys(":")
    tmux.wait_for("apps | users | keys")
    tmux.type("audit")
    tmux.keys("Enter")
    tmux.wait_for("Audit log", "● live", "Pause/follow")
    # (`pepyhat init` recorded its token's creation: the list is never empty here)
    return tmux.wait_for("key.create", "tokens/")


def test_a_write_through_the_api_appears_while_the_audit_log_is_open(server: Server, tmux: Tmux) -> None:
    before = open_audit(server, tmux)
    selected = re.search(r"^ (#\d+ \S+)  ", before, re.MULTILINE)  # the detail's first line: the cursor's event
    assert selected, before
    with server.api() as api:
        api.post("/api/v1/users", json={"email": "audit-e2e@example.com", "name": "Audit E2E"}).raise_for_status()
        screen = tmux.wait_for("user.create", "users/audit-e2e@example.com")
        assert selected.group(1) in screen  # the cursor stayed on the event it was on
        tmux.keys("Up")
        tmux.wait_for('+ name: "Audit E2E"', 'email: "audit-e2e@example.com"')  # the newest, in full below

        tmux.keys("p")
        tmux.wait_for("❚❚ paused")
        api.post("/api/v1/users", json={"email": "audit-paused@example.com"}).raise_for_status()
        tmux.keys("p")
        tmux.wait_for("● live", "users/audit-paused@example.com")
    tmux.keys("q")
