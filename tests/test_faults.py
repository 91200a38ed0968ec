"""The fault proxy does what each mode says, against a real service (it is a test tool: it must not lie)."""

from __future__ import annotations

import httpx
import pytest

from pepyhat.api import create_app
from pepyhat.config import Settings
from tests.faults import FaultProxy
from tests.servers import ServerThread


@pytest.fixture(scope="module")
def upstream(tmp_path_factory):
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('faults') / 'p.db'}", redis_url=None)
    with ServerThread(create_app(settings, run_migrations=True)) as server:
        yield server


def test_each_mode_behaves_as_documented(upstream):
    with FaultProxy(upstream.port) as proxy:
        assert httpx.get(f"{proxy.url}/healthz", timeout=5).json()["status"] == "ok"
        proxy.mode = "503"
        answer = httpx.get(f"{proxy.url}/healthz", timeout=5)
        assert answer.status_code == 503 and "Service Unavailable" in answer.text
        proxy.mode = "502"
        assert httpx.get(f"{proxy.url}/healthz", timeout=5).status_code == 502
        proxy.mode = "stall"
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{proxy.url}/healthz", timeout=0.5)
        proxy.mode = "drop"
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{proxy.url}/healthz", timeout=5)
        proxy.mode = "refuse"
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
            httpx.get(f"{proxy.url}/healthz", timeout=5)
        proxy.mode = "pass"
        assert httpx.get(f"{proxy.url}/healthz", timeout=5).status_code == 200
        assert proxy.accepted == 7
