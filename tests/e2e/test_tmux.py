"""End to end in a real terminal: ``pepyhat serve`` + ``pepyhat-tui`` inside tmux (tests/e2e/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import ROOT, WAIT, Server, Tmux, dashboard_command


# -- the tests ----------------------------------------------------------------------------


def user_without_wiki_access(api: httpx.Client) -> str:
    """A demo user holding no role in wiki, whose email no other email contains."""
    emails = [u["email"] for u in api.get("/api/v1/users", params={"limit": 500}).raise_for_status().json()["data"]]
    for email in emails:
        local = email.split("@")[0] + "@"
        if sum(local in other for other in emails) != 1:
            continue
        access = api.get(f"/api/v1/users/{email}/access").raise_for_status().json()
        if not any(app["app"] == "wiki" for app in access["apps"]) and access["active"]:
            return email
    raise AssertionError("the demo org has no active user outside wiki")


def test_grant_a_role_from_the_keyboard(server: Server, tmux: Tmux) -> None:
    with server.api() as api:
        email = user_without_wiki_access(api)
    local = email.split("@")[0] + "@"

    command = [*dashboard_command(), "--url", server.url, "--token", server.token]
    tmux.type(" ".join(command))
    tmux.keys("Enter")
    tmux.wait_for("Apps", "billing", "wiki", "apps")

    tmux.keys(":")
    tmux.wait_for("apps | users | keys")
    tmux.type("users")
    tmux.keys("Enter")
    tmux.wait_for("Users", "users", "@example.com")

    tmux.keys("/")
    tmux.wait_for("filter…")
    tmux.type(local)
    tmux.keys("Enter")
    screen = tmux.wait_for("1 user ", f"filter: {local}")
    assert email in screen

    tmux.keys("Enter")
    tmux.wait_for(f"User {email}", "live role")

    tmux.keys("g")
    tmux.wait_for(f"Grant a role to {email}", "choose an app")
    tmux.keys("Enter")  # the app picker has the focus: open it, type to search, pick
    tmux.wait_for("billing — Billing")
    tmux.type("wiki")
    tmux.keys("Enter")
    tmux.wait_for("wiki — Wiki", "choose a role")
    tmux.keys("Tab", "Enter")  # the role picker
    tmux.wait_for("viewer — Viewer")
    tmux.type("viewer")
    tmux.keys("Enter")
    tmux.wait_for("choose a role", gone=True)
    tmux.keys("Tab", "Enter")  # the expiry field: enter submits the form
    tmux.wait_for("Grant a role to", gone=True)
    screen = tmux.wait_for("wiki", "viewer", "pages.read")
    assert email in screen

    with server.api() as api:
        access = api.get(f"/api/v1/users/{email}/access").raise_for_status().json()
    wiki = [app for app in access["apps"] if app["app"] == "wiki"]
    assert wiki and wiki[0]["roles"] == ["viewer"], access

    tmux.keys("q")
    tmux.wait_for("Users", gone=True)


HOSTILE_NAME = "Red \x1b[31mALERT\x1b[0m \x1b]0;pwned\x07 end"


def test_an_escape_sequence_in_a_name_does_not_reach_the_terminal(server: Server, tmux: Tmux) -> None:
    """An app whose name carries CSI and OSC sequences (written before the service refused them, straight
    into the database) is listed with its escapes visible; the pane's title stays what it was."""
    import sqlite3

    with sqlite3.connect(server.database) as db:
        db.execute(
            "INSERT INTO apps (slug, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            ("evil", HOSTILE_NAME, "\u202edesc", "2025-01-01 00:00:00", "2025-01-01 00:00:00"),
        )
    tmux.tmux("select-pane", "-t", tmux.session, "-T", "operator")
    assert tmux.pane_title() == "operator"

    tmux.type(" ".join([*dashboard_command(), "--url", server.url, "--token", server.token]))
    tmux.keys("Enter")
    screen = tmux.wait_for("evil", "billing", "6 apps")
    assert tmux.pane_title() == "operator"  # the list has painted the name
    assert r"Red \x1b[31mALERT\x1b[0m \x1b]0;pwned\x07 end" in screen  # shown, as its escapes
    assert r"\u202edesc" in screen
    tmux.keys("q")
    tmux.wait_for("6 apps", gone=True)
    assert tmux.pane_title() == "operator"

    # Control: the same bytes written raw to this terminal do set its title (the test can fail).
    tmux.type("printf '\\033]0;pwned\\007'")
    tmux.keys("Enter")
    deadline = time.monotonic() + WAIT
    while tmux.pane_title() != "pwned" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tmux.pane_title() == "pwned"


def run_dashboard(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*dashboard_command(), *args], capture_output=True, text=True, timeout=30, cwd=ROOT,
        env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
    )


def assert_one_line_failure(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_unreachable_server_is_one_line() -> None:
    result = run_dashboard("--url", "http://127.0.0.1:1", "--token", "pha_x")
    assert_one_line_failure(result, "pepyhat-tui:", "127.0.0.1:1")


def test_bad_token_is_one_line(server: Server) -> None:
    result = run_dashboard("--url", server.url, "--token", "pha_" + "x" * 48)
    assert_one_line_failure(result, "pepyhat-tui:", "token refused")


def test_unknown_profile_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.prod]\nurl = "https://pepyhat.example"\ntoken = "pha_x"\ncolor = "red"\n')
    result = run_dashboard("--profile", "staging", env={"PEPYHAT_CONFIG": str(config)})
    assert_one_line_failure(result, "pepyhat-tui:", "staging", "prod")


def test_malformed_profile_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[profiles.prod]\nurl = "https://pepyhat.example"\ntoken = "pha_x"\ncolor = "chartreuse"\n')
    result = run_dashboard("--profile", "prod", env={"PEPYHAT_CONFIG": str(config)})
    assert_one_line_failure(result, "pepyhat-tui:", "color")
