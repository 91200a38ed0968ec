"""The key lifecycle end to end: a real ``pepyhat serve``, the dashboard in tmux, the data plane after.

A leaked key pasted into `/` on Keys, enter, `d`, `y`: the data plane refuses it.
A key minted in the dashboard, read off the screen, works; `c` hands it to tmux.
Rotating with 0s grace kills the old key at once and the successor works.
"""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Server, Tmux, dashboard_command

PLAINTEXT = re.compile(r"\b(phk|pha)_[0-9A-Za-z]{48}\b")


def authz(server: Server, key: str, app: str = "crm") -> httpx.Response:
    return httpx.get(f"{server.url}/api/v1/authz/alice@example.com", params={"app": app},
                     headers={"X-API-Key": key}, timeout=10)


def open_dashboard(server: Server, tmux: Tmux) -> None:
    tmux.type(" ".join([*dashboard_command(), "--url", server.url, "--token", server.token]))
    tmux.keys("Enter")
    tmux.wait_for("Apps", "billing", "wiki")


def paste(tmux: Tmux, text: str) -> None:
    """As a terminal pastes: tmux's buffer, sent bracketed (-p) when the application asked for it."""
    tmux.tmux("set-buffer", "-b", "paste", text)
    tmux.tmux("paste-buffer", "-p", "-d", "-b", "paste", "-t", tmux.session)


def test_a_pasted_leaked_key_is_revoked_with_enter_d_y(server: Server, tmux: Tmux) -> None:
    with server.api() as api:
        leaked = api.post("/api/v1/keys", json={"name": "crm-e2e-leaked", "app": "crm"}).raise_for_status().json()
    assert authz(server, leaked["key"]).status_code == 200

    open_dashboard(server, tmux)
    tmux.keys(":")
    tmux.wait_for("apps | users | keys")
    tmux.type("keys")
    tmux.keys("Enter")
    tmux.wait_for("Keys", "crm-production")
    tmux.keys("/")
    tmux.wait_for("filter…")
    paste(tmux, leaked["key"])
    screen = tmux.wait_for(f"looked up: {leaked['start']}…", "1 key")
    assert leaked["key"] not in screen  # masked: its start alone
    tmux.keys("Enter")
    tmux.wait_for("Find a leaked key", "crm-e2e-leaked", "Revoke (d)")
    tmux.keys("d")
    tmux.wait_for("Revoke crm-e2e-leaked?")
    tmux.keys("y")
    tmux.wait_for("Revoked crm-e2e-leaked")

    refused = authz(server, leaked["key"])
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "key_revoked", refused.text
    tmux.keys("q")


def test_a_key_minted_in_the_dashboard_works_is_copied_to_tmux_and_rotates_with_0s(server: Server, tmux: Tmux) -> None:
    tmux.tmux("set-option", "-g", "set-clipboard", "on")
    open_dashboard(server, tmux)
    tmux.keys(":")
    tmux.wait_for("apps | users | keys")
    tmux.type("apps crm")
    tmux.keys("Enter")
    tmux.wait_for("App crm")
    tmux.keys("4")
    tmux.wait_for("crm-production")

    tmux.keys("n")
    tmux.wait_for("New key of crm", "Name")
    tmux.type("crm-e2e-minted")
    tmux.keys("C-s")
    screen = tmux.wait_for("shown once", "X-API-Key")
    found = PLAINTEXT.search(screen)
    assert found, screen
    minted = found.group(0)
    assert authz(server, minted).status_code == 200

    tmux.keys("c")
    tmux.wait_for("copied to tmux's buffer")
    assert tmux.tmux("show-buffer").strip() == minted

    tmux.keys("Escape")
    tmux.wait_for("cannot be shown again")
    tmux.keys("Enter")  # escape put the focus on "I have stored it"
    tmux.wait_for("shown once", gone=True)
    tmux.wait_for("crm-e2e-minted")

    # The cursor is on the key just minted: rotate it now (0s grace).
    tmux.keys("R")
    tmux.wait_for("Rotate crm-e2e-minted?", "0s — leaked")
    tmux.keys("Up", "Up", "Enter")
    screen = tmux.wait_for("Successor", "no longer works")
    found = PLAINTEXT.search(screen)
    assert found, screen
    successor = found.group(0)
    assert successor != minted
    assert authz(server, successor).status_code == 200
    old = authz(server, minted)
    assert old.status_code == 403 and old.json()["error"]["code"] == "key_expired"
    tmux.keys("Tab", "Enter")
    tmux.wait_for("Successor", gone=True)
    tmux.keys("q")
