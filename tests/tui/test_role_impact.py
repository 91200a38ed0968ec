"""Editing a role's permissions says, before the save, who gains and loses what: what the save then reports."""

from __future__ import annotations

from textual.widgets import SelectionList, Static

from pepyhat import schemas
from pepyhat_tui.screens.role_form import RoleForm
from tests.tui.support import plain, record_toasts, settle, steps, until
from tests.tui.test_apps_screen import SIZE, open_crm, select_option, select_row


async def edit_role(pilot, role: str) -> RoleForm:
    screen = await open_crm(pilot)
    roles = screen.table("roles")
    await until(pilot, lambda: role in roles.items, "the roles")
    await select_row(pilot, roles, role)
    await steps(pilot, "e")
    form = pilot.app.screen
    assert isinstance(form, RoleForm) and form.existing.slug == role
    form.query_one("#permissions", SelectionList).focus()
    await settle(pilot)
    return form


async def test_the_preview_is_what_the_save_reports(service):
    async with service.http() as http:
        viewer = schemas.Role.model_validate((await http.get("/api/v1/apps/crm/roles/viewer")).json())
        before = (await http.get("/api/v1/audit", params={"target": "apps/crm/roles/viewer"})).json()["data"]
    dropped = viewer.permissions[0]
    app = service.dashboard()
    toasts = record_toasts(app)
    async with app.run_test(size=SIZE) as pilot:
        form = await edit_role(pilot, "viewer")
        impact_line = form.query_one("#impact", Static)
        assert plain(impact_line) == ""  # nothing changed yet: nothing to say
        await select_option(pilot, form.query_one("#permissions", SelectionList), dropped)
        await steps(pilot, "space")
        await until(pilot, lambda: form.impact is not None, "the preview")
        preview = form.impact
        assert preview.members == viewer.member_count and not preview.gained
        # Members holding the permission through another role keep it: the count says so.
        assert 0 < preview.lost.get(dropped, 0) <= viewer.member_count
        shown = plain(impact_line)
        assert shown.startswith("If saved: ") and f"-{dropped} ({preview.lost[dropped]})" in shown
        async with service.http() as http:  # a preview saves nothing and audits nothing
            assert (await http.get("/api/v1/apps/crm/roles/viewer")).json()["permissions"] == viewer.permissions
            assert (await http.get("/api/v1/audit", params={"target": "apps/crm/roles/viewer"})).json()["data"] == before
        await steps(pilot, "ctrl+s")
        await until(pilot, lambda: not isinstance(pilot.app.screen, RoleForm), "saved")
    saved = next(message for title, message, _ in toasts if title == "Role viewer saved")
    assert f"If saved: {saved}" == shown


async def test_putting_it_back_clears_the_preview(service):
    app = service.dashboard()
    async with app.run_test(size=SIZE) as pilot:
        form = await edit_role(pilot, "viewer")
        picker = form.query_one("#permissions", SelectionList)
        await select_option(pilot, picker, form.existing.permissions[0])
        await steps(pilot, "space")
        await until(pilot, lambda: form.impact is not None, "the preview")
        await steps(pilot, "space")
        await until(pilot, lambda: form.impact is None, "no change, no preview")
        assert plain(form.query_one("#impact", Static)) == ""
