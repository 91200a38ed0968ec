"""The service inside another process: what ``pepyhat-tui`` runs when given no ``--url``.

The dashboard's one door into the service itself (beside the contract,
``pepyhat.schemas``).  The service is imported only when it is built, so a
dashboard that talks to a remote service never loads it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def build_embedded_service(database: Path, operator: str, *, demo: bool = False, demo_now: datetime | None = None):
    """The service's ASGI app on a migrated SQLite file, filled with the demo org if asked (blocking).

    A request without a token acts as ``operator``, with every capability.
    """
    from pepyhat.api import create_app
    from pepyhat.config import Settings

    settings = Settings(database_url=f"sqlite:///{database}", embedded_operator=operator, redis_url=None)
    app = create_app(settings, run_migrations=True)
    if demo:
        from pepyhat import demo as demo_data

        demo_data.generate(app.state.runtime.engine, users=300, apps=5, seed=7, now=demo_now)
    return app
