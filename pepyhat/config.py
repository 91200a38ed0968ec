"""Service settings, from arguments or ``PEPYHAT_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_path() -> Path:
    return Path(user_data_dir("pepyhat", appauthor=False)) / "pepyhat.db"


def default_database_url() -> str:
    return f"sqlite:///{default_database_path()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEPYHAT_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    redis_url: str | None = None
    audit_retention_days: int = Field(default=365, ge=1)
    log_level: str = "INFO"
    # Seconds between flushes of batched last_used_at updates.
    usage_flush_seconds: float = Field(default=5.0, gt=0)
    # PostgreSQL connections the data plane's reads may hold per process; none: twice the cores.
    dataplane_connections: int | None = Field(default=None, ge=1, le=100)
    # Embedded mode (the dashboard's in-process service): a request without a
    # token acts as this local operator with every capability.  Never set by `serve`.
    embedded_operator: str | None = None
