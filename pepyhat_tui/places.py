"""Where the dashboard's files are: its config file, and the embedded service's default database.

Apart from ``config`` (which loads pydantic-settings), so that ``pepyhat-tui``
can start the embedded service before loading anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir


def config_path() -> Path:
    override = os.environ.get("PEPYHAT_CONFIG")
    return Path(override) if override else Path(user_config_dir("pepyhat", appauthor=False)) / "config.toml"


def default_database() -> Path:
    return Path(user_data_dir("pepyhat", appauthor=False)) / "pepyhat.db"
