"""Dashboard fixtures: the demo organisation in an embedded service, clock frozen.

``demo_app`` is what ``pepyhat-tui --demo`` starts (the local operator, every
capability).  ``service`` is the same organisation behind a handle that can
mint admin tokens with chosen capabilities and scopes and open a dashboard
that signs in with one, as ``pepyhat-tui --url ... --token ...`` would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

import httpx
import pytest
import textual._wait

from pepyhat import audit
from pepyhat.embedded import build_embedded_service
from pepyhat.schemas import CAPABILITIES
from pepyhat.store import queries
from pepyhat.store.db import make_sessionmaker, transaction
from pepyhat_tui.app import PepyHatApp
from pepyhat_tui.client import EMBEDDED_URL, PepyHatClient
from pepyhat_tui.config import Target
from tests.tui.support import FIXED

ALL = ["**=*"]


@pytest.fixture(autouse=True, scope="session")
def quick_idle_checks():
    """The pilot's "wait until idle" checks the process's CPU every 5 ms rather than every 20.

    ``textual._wait.wait_for_idle`` (every key press, every ``pilot.pause()``) sleeps in
    steps of SLEEP_GRANULARITY and stops at the first step in which the process used
    under 5% of it: at least 20 ms a pause and 40 a key, about a third of the dashboard
    tests' time, spent asleep.  Same 5% test, on a finer clock.  (Internals: textual is
    pinned below 9 in pyproject.toml.)
    """
    saved = textual._wait.SLEEP_GRANULARITY, textual._wait.SLEEP_IDLE
    textual._wait.SLEEP_GRANULARITY = 0.005
    textual._wait.SLEEP_IDLE = 0.005 / 20
    yield
    textual._wait.SLEEP_GRANULARITY, textual._wait.SLEEP_IDLE = saved


class _FrozenDatetime(datetime):
    """``datetime`` whose ``now`` is FIXED: the audit trail's clock (it reads ``datetime.now``)."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return FIXED.astimezone(tz) if tz is not None else FIXED.replace(tzinfo=None)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """One clock for the embedded service and the dashboard: FIXED.

    The service derives statuses and counts from queries.now(); the audit trail stamps
    its events and prunes them (older than a year, soon after it starts) on its own
    clock: on the wall clock, events written at FIXED would be pruned as a year old,
    and a service's own events would read "in 1y" beside them.
    """
    monkeypatch.setattr(queries, "now", lambda: FIXED)
    monkeypatch.setattr(audit, "datetime", _FrozenDatetime)


@pytest.fixture
def demo_app(frozen) -> PepyHatApp:
    return PepyHatApp(Target("demo", "demo", color="blue"), clock=lambda: FIXED, demo_now=FIXED)


@dataclass
class Service:
    """One embedded service on the demo data, shared by the dashboards a test opens."""

    asgi: object
    database: Path

    @property
    def engine(self):
        return self.asgi.state.runtime.engine

    def mint(self, capabilities: list[str] | None = None, scopes: list[str] = ALL, name: str = "tui-test") -> str:
        """An admin token with these capabilities (default: all) and ``path=ops`` scopes."""
        parsed = []
        for scope in scopes:
            path, _, ops = scope.partition("=")
            parsed.append({"path": path, "operations": ops.split(",")})
        with transaction(make_sessionmaker(self.engine)) as session:
            _, plaintext = queries.create_key(
                session, name=name, kind="admin", app=None, scopes=parsed,
                capabilities=list(CAPABILITIES if capabilities is None else capabilities),
                rate_limit_per_minute=None, expires_at=None, created_by="tests",
            )
        return plaintext

    def http(self, token: str | None = None) -> httpx.AsyncClient:
        """A client of the service itself, to check what the dashboard did (no token: the operator)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        transport = httpx.ASGITransport(app=self.asgi, raise_app_exceptions=False, client=("127.0.0.1", 0))
        return httpx.AsyncClient(transport=transport, base_url=EMBEDDED_URL, headers=headers)

    def dashboard(self, token: str | None = None, *, read_only: bool = False, color: str | None = None) -> PepyHatApp:
        """A dashboard on this service: signed in with ``token``, or as the embedded operator."""
        client = PepyHatClient(self.http(token))
        if token is None:
            target = Target("embedded", "embedded", database=self.database, read_only=read_only, color=color)
        else:
            target = Target("remote", "test", url=EMBEDDED_URL, token=token, read_only=read_only, color=color)
        return PepyHatApp(target, client=client, clock=lambda: FIXED)


@pytest.fixture
async def service(tmp_path: Path, frozen) -> Service:
    database = tmp_path / "pepyhat.db"
    asgi = await asyncio.to_thread(
        build_embedded_service, database, "tester (embedded)", demo=True, demo_now=FIXED
    )
    async with asgi.router.lifespan_context(asgi):
        yield Service(asgi, database)
