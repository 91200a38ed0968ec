"""Where the dashboard points: embedded, demo, or a remote service (flags, env, profile).

Profiles live in ``config.toml`` in the platform config dir::

    [profiles.prod]
    url = "https://pepyhat.internal"
    token_command = "pass show pepyhat/prod"
    read_only = true
    color = "red"
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from platformdirs import user_config_dir, user_data_dir
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

COLORS = ("red", "green", "yellow", "blue", "magenta", "cyan", "orange", "purple", "gray")


class ConfigError(Exception):
    """One line for stderr; the dashboard exits 1 before opening."""


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://\S+$")
    token: str | None = None
    token_command: str | None = None
    read_only: bool = False
    color: str | None = None

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is not None and value not in COLORS:
            raise ValueError(f"color must be one of {', '.join(COLORS)}")
        return value


class ConfigFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    profiles: dict[str, Profile] = Field(default_factory=dict)


def config_path() -> Path:
    override = os.environ.get("PEPYHAT_CONFIG")
    return Path(override) if override else Path(user_config_dir("pepyhat", appauthor=False)) / "config.toml"


def default_database() -> Path:
    return Path(user_data_dir("pepyhat", appauthor=False)) / "pepyhat.db"


def load_profiles(path: Path | None = None) -> dict[str, Profile]:
    path = path or config_path()
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text())
        return ConfigFile.model_validate(data).profiles
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{path}: {where}: {err['msg']}") from None


def run_token_command(command: str) -> str:
    try:
        result = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        raise ConfigError(f"token_command failed: {exc}") from None
    if result.returncode != 0:
        raise ConfigError(f"token_command exited {result.returncode}: {result.stderr.strip().splitlines()[-1:] or ''}")
    token = result.stdout.strip().splitlines()[0] if result.stdout.strip() else ""
    if not token:
        raise ConfigError("token_command printed no token")
    return token


@dataclass(frozen=True)
class Target:
    mode: Literal["embedded", "demo", "remote"]
    label: str
    url: str | None = None
    token: str | None = None
    database: Path | None = None
    read_only: bool = False
    color: str | None = None
    profile: str | None = None


def resolve(
    *,
    url: str | None = None,
    token: str | None = None,
    profile: str | None = None,
    db: str | None = None,
    demo: bool = False,
    read_only: bool = False,
    env: dict[str, str] | None = None,
) -> Target:
    """Flags beat the environment, which beats a profile; nothing at all means embedded."""
    env = os.environ if env is None else env
    if demo and (url or profile):
        raise ConfigError("--demo runs the embedded demo; drop --url/--profile")
    if demo:
        return Target("demo", "demo", read_only=read_only, color="blue")
    if profile:
        profiles = load_profiles()
        if profile not in profiles:
            known = ", ".join(sorted(profiles)) or "none"
            raise ConfigError(f"no profile {profile!r} in {config_path()} (profiles: {known})")
        p = profiles[profile]
        secret = token or p.token or (run_token_command(p.token_command) if p.token_command else None)
        if not secret:
            raise ConfigError(f"profile {profile!r} has no token or token_command")
        return Target("remote", profile, url or p.url, secret, None, read_only or p.read_only, p.color, profile)
    url = url or env.get("PEPYHAT_URL")
    if url:
        token = token or env.get("PEPYHAT_TOKEN")
        if not token:
            raise ConfigError("a remote service needs a token: --token, PEPYHAT_TOKEN or a profile")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"invalid URL {url!r}: use http:// or https://")
        return Target("remote", url, url, token, None, read_only)
    if token:
        raise ConfigError("--token needs --url (or PEPYHAT_URL)")
    database = Path(db).expanduser() if db else default_database()
    return Target("embedded", "embedded", database=database, read_only=read_only, color="green")
