"""The baselines of start.py: the smallest Textual app, painting one label.

    python bench/tui_startup_baseline.py            # Textual alone
    python bench/tui_startup_baseline.py --stack    # first loads what the dashboard cannot paint
                                                    # a list without: pydantic, pydantic-settings, httpx
    python bench/tui_startup_baseline.py --service  # --stack, and the label waits for a child that
                                                    # loads what the service cannot answer without:
                                                    # SQLAlchemy's ORM, FastAPI, uvicorn

The last two are floors, not targets: a dashboard built on this stack starts no faster.
"""

import subprocess
import sys

SERVICE = "import sqlalchemy.orm, fastapi, uvicorn"

if "--service" in sys.argv:
    # Started first, as pepyhat-tui starts its embedded child: it loads on the other core.
    child = subprocess.Popen([sys.executable, "-c", SERVICE])
if "--stack" in sys.argv or "--service" in sys.argv:
    import httpx  # noqa: F401
    import pydantic_settings  # noqa: F401
    from pydantic import BaseModel, Field  # noqa: F401

from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Label  # noqa: E402

READY = "minimal textual app ready"


class Minimal(App[None]):
    def compose(self) -> ComposeResult:
        if "--service" in sys.argv:
            yield Label("waiting for the service's imports")
        else:
            yield Label(READY)

    def on_mount(self) -> None:
        if "--service" in sys.argv:
            self.run_worker(self._wait_for_child, thread=True)

    def _wait_for_child(self) -> None:
        child.wait()
        self.call_from_thread(self.query_one(Label).update, READY)


if __name__ == "__main__":
    Minimal().run()
