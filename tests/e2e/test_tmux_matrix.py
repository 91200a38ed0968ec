"""The access matrix end to end: a real ``pepyhat serve``, the dashboard in tmux.

`:matrix crm` shows crm's members by its roles (checked against the service's
own lists), and `space` then `y` on an empty cell grants that role for real.
"""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Server, Tmux, dashboard_command


def test_matrix_shows_members_by_roles_and_space_grants(server: Server, tmux: Tmux) -> None:
    with server.api() as api:
        roles = api.get("/api/v1/apps/crm/roles").raise_for_status().json()["data"]
        members = api.get("/api/v1/apps/crm/members", params={"limit": 5}).raise_for_status().json()["data"]
    first = members[0]
    tmux.type(" ".join([*dashboard_command(), "--url", server.url, "--token", server.token]))
    tmux.keys("Enter")
    tmux.wait_for("Apps", "billing", "wiki")
    tmux.keys(":")
    tmux.wait_for("matrix <app>")
    tmux.type("matrix crm")
    tmux.keys("Enter")
    # Roles across (with their member counts), members down.
    screen = tmux.wait_for("Matrix crm", first["email"], *(r["slug"][:9] for r in roles))
    for role in roles:
        assert f" {role['member_count']}" in screen
    assert all(m["email"] in screen for m in members)

    # The first member lacks some role: move to it, grant it.
    missing = next(i for i, r in enumerate(roles) if r["slug"] not in {g["role"] for g in first["grants"]})
    for _ in range(missing + 1):
        tmux.keys("Right")
    tmux.wait_for(f"has no {roles[missing]['slug']}")
    tmux.keys("Space")
    tmux.wait_for(f"Grant {roles[missing]['slug']} to {first['email']}?", "Expires")
    tmux.keys("y")
    tmux.wait_for(f"Granted {roles[missing]['slug']} to {first['email']}")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.token}"}) as api:
        found = api.get("/api/v1/apps/crm/members", params={"q": first["email"]}).json()["data"]
    held = {g["role"] for m in found if m["email"] == first["email"] for g in m["grants"]}
    assert roles[missing]["slug"] in held
    tmux.keys("q")
