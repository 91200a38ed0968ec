"""What a running service holds: settings, engine, limiter, usage tracker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from pepyhat.config import Settings
from pepyhat.ratelimit import Limiter
from pepyhat.store.reads import Reads
from pepyhat.usage import UsageTracker


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    limiter: Limiter
    usage: UsageTracker
    reads: Reads  # the data plane's


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the endpoint returns, else roll back."""
    with runtime(request).sessions() as session, session.begin():
        yield session


# "function" scope: commit before the response goes out, so a client that
# reads the response can rely on the write being there.
SessionDep = Depends(_session, scope="function")
