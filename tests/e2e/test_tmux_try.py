"""Try a request end to end: a real ``pepyhat serve``, the dashboard in tmux, a real app key.

`:try`, then the app (the select), the email and the key typed as an operator
would: the pane shows the JSON the data plane returns for that key, and never
the key itself.
"""

from __future__ import annotations


import httpx

from tests.e2e.conftest import Server, Tmux, dashboard_command


def test_try_shows_the_data_plane_answer_to_a_real_key(server: Server, tmux: Tmux) -> None:
    with server.api() as api:
        minted = api.post("/api/v1/keys", json={"name": "try-e2e", "kind": "app", "app": "crm"})
        minted = minted.raise_for_status().json()
        member = api.get("/api/v1/apps/crm/members", params={"limit": 1}).raise_for_status().json()["data"][0]
    email = member["email"]
    direct = httpx.get(f"{server.url}/api/v1/authz/{email}", params={"app": "crm"},
                       headers={"X-API-Key": minted["key"]}, timeout=10).json()
    assert direct["found"] is True and direct["roles"], direct

    tmux.type(" ".join([*dashboard_command(), "--url", server.url, "--token", server.token]))
    tmux.keys("Enter")
    tmux.wait_for("Apps", "billing", "wiki")
    tmux.keys(":")
    tmux.wait_for("apps | users | keys")
    tmux.type("try")
    tmux.keys("Enter")
    tmux.wait_for("Try a request", "Choose an app")

    # The app: the select has the focus; enter opens it, typing finds crm, enter takes it.
    tmux.wait_for("app…")
    tmux.keys("Enter")
    tmux.wait_for("esc Dismiss menu", "billing", "wiki")
    tmux.type("crm")
    tmux.keys("Enter")
    tmux.wait_for("esc Dismiss menu", gone=True)
    tmux.wait_for("App    crm")
    tmux.keys("Tab")
    tmux.wait_for_cursor_after("Email")
    tmux.type(email)
    # Without a key, explain answers (the operator's token may explain).
    tmux.wait_for("explain — admin API, no app key", '"found": true')
    tmux.keys("Tab")
    tmux.wait_for_cursor_after("Key")
    tmux.type(minted["key"])
    screen = tmux.wait_for("200 OK", "the data plane's answer to this app key", '"found": true',
                           f'"{direct["roles"][0]}"', "X-Request-ID")
    for permission in direct["permissions"][:3]:
        assert f'"{permission}"' in screen
    assert minted["key"] not in screen and minted["key"][:12] not in screen
    assert f"'{server.url}/api/v1/authz/{email}?app=crm'" in screen  # the curl, key masked
    assert '"X-API-Key: $PEPY_HAT_API_KEY"' in screen

    tmux.keys("Escape")
    tmux.wait_for("Try a request", gone=True)
    assert minted["key"] not in tmux.screen()
    tmux.keys("q")
