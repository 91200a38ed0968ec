"""An app's members: users with their grants there; grant and remove roles."""

from __future__ import annotations

from pepyhat import schemas
from pepyhat_tui.actions import bindings
from pepyhat_tui.formatting import grant_summary, yes_no
from pepyhat_tui.guarded import resource_path
from pepyhat_tui.panes.base import AppPane
from pepyhat_tui.text import join


class MembersPane(AppPane):
    COLUMNS = (("Email", "email"), ("Name", "name"), ("Status", "status"), ("Roles", "roles"))
    NOUN = "member"
    BINDINGS = bindings("members.new", "members.delete")

    async def fetch(self, cursor, query):
        return await self.dashboard.client.list_members(self.app_slug, q=query, cursor=cursor)

    def cells(self, member: schemas.Member):
        return (member.email, member.name, yes_no(member.active), grant_summary(member.grants, self.dashboard.now()))

    def row_key(self, member: schemas.Member) -> str:
        return member.email

    def row_path(self, member: schemas.Member) -> str:
        return resource_path("apps", self.app_slug, "members", member.email)

    def open(self, member: schemas.Member) -> None:
        from pepyhat_tui.screens.user_detail import UserDetailScreen

        self.dashboard.push_screen(UserDetailScreen(member.email), lambda _: self.changed())

    def action_new(self) -> None:
        from pepyhat_tui.screens.grant_form import GrantForm

        self.dashboard.push_screen(
            GrantForm(self.dashboard.client, app=self.app_slug), lambda done: done and self.changed()
        )

    def action_delete(self) -> None:
        from pepyhat_tui.screens.confirm import ConfirmScreen
        from pepyhat_tui.screens.pick import PickScreen

        member = self.table.selected()
        if member is None:
            return
        client = self.dashboard.client
        red = self.dashboard.target.color == "red"

        def remove(role: str | None) -> None:
            if role is None:
                return
            lines = [join((member.email, "bold"), " loses role ", (role, "bold"), " in ", (self.app_slug, ""), ".")]
            self.dashboard.push_screen(
                ConfirmScreen(
                    join("Remove ", (role, ""), " from ", (member.email, ""), "?"), lines,
                    confirm_label="Remove", type_to_confirm=member.email if red else None,
                ),
                lambda yes: yes and self.mutate(
                    lambda: client.revoke_grant(self.app_slug, member.email, role),
                    f"Removed {role} from {member.email}",
                    self.changed,
                ),
            )

        roles = list(dict.fromkeys(g.role for g in member.grants))
        if len(roles) == 1:
            remove(roles[0])
        elif roles:
            self.dashboard.push_screen(
                PickScreen(join("Remove which role from ", (member.email, ""), "?"), [(r, r) for r in roles]), remove
            )
