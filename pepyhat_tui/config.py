"""Dashboard settings: where it points (embedded, demo, a remote service), profiles, keymap.

pydantic-settings reads, each source overriding the one before: ``config.toml``
in the platform config dir (``$PEPYHAT_CONFIG`` to point elsewhere), then
``PEPYHAT_*`` environment variables, then the command line's flags.  A
profile's values come last of all: flags, then environment, then profile::

    [profiles.prod]
    url = "https://pepyhat.internal"
    token_command = "pass show pepyhat/prod"
    read_only = true
    color = "red"

    [keymap]            # action id (or a verb for all its actions) = key
    "apps.new" = "a"
    refresh = "f5"

``read_only`` is the exception to "last word wins": any source that asks for it
gets it (a flag cannot unlock a read-only profile).
"""

from __future__ import annotations

import shlex
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from pepyhat_tui.actions import KeymapError, expand_keymap
from pepyhat_tui.places import config_path, default_database

Color = Literal["red", "green", "yellow", "blue", "magenta", "cyan", "orange", "purple", "gray"]


class ConfigError(Exception):
    """One line for stderr; the dashboard exits 1 before opening."""


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://\S+$")
    token: str | None = None
    token_command: str | None = None
    read_only: bool = False
    color: Color | None = None


class Settings(BaseSettings):
    """Everything the dashboard is told, merged; ``resolve`` turns it into a ``Target``."""

    # The service's own PEPYHAT_* variables (PEPYHAT_DATABASE_URL, ...) are not ours: ignored.
    model_config = SettingsConfigDict(env_prefix="PEPYHAT_", extra="ignore")

    url: str | None = None
    token: str | None = None
    profile: str | None = None
    read_only: bool = False
    profiles: dict[str, Profile] = Field(default_factory=dict)
    keymap: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # First source wins: flags (init), then the environment, then config.toml.
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_path())


def load_settings(**flags: object) -> Settings:
    """Settings from the config file, the environment and the flags given (None = not given)."""
    given = {name: value for name, value in flags.items() if value not in (None, False)}
    path = config_path()
    try:
        return Settings(**given)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
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
        last = result.stderr.strip().splitlines()[-1:] or [""]
        raise ConfigError(f"token_command exited {result.returncode}: {last[0]}".rstrip(": "))
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
    keymap: tuple[tuple[str, str], ...] = ()  # binding id -> keys, expanded from [keymap]


def resolve(
    *,
    url: str | None = None,
    token: str | None = None,
    profile: str | None = None,
    db: str | None = None,
    demo: bool = False,
    read_only: bool = False,
) -> Target:
    """Where the dashboard points.  Nothing at all means embedded, on the data dir's SQLite file."""
    settings = load_settings(url=url, token=token, profile=profile, read_only=read_only)
    try:
        keymap = tuple(expand_keymap(settings.keymap).items())
    except KeymapError as exc:
        raise ConfigError(f"{config_path()}: {exc}") from None
    read_only = settings.read_only
    if demo:
        if url or profile:
            raise ConfigError("--demo runs the embedded demo; drop --url/--profile")
        return Target("demo", "demo", read_only=read_only, color="blue", keymap=keymap)
    if settings.profile:
        name = settings.profile
        if name not in settings.profiles:
            known = ", ".join(sorted(settings.profiles)) or "none"
            raise ConfigError(f"no profile {name!r} in {config_path()} (profiles: {known})")
        chosen = settings.profiles[name]
        secret = settings.token or chosen.token or (run_token_command(chosen.token_command) if chosen.token_command else None)
        if not secret:
            raise ConfigError(f"profile {name!r} has no token or token_command")
        target_url = settings.url or chosen.url
        _check_url(target_url)
        return Target(
            "remote", name, target_url, secret, None, read_only or chosen.read_only, chosen.color, name, keymap
        )
    if settings.url:
        if not settings.token:
            raise ConfigError("a remote service needs a token: --token, PEPYHAT_TOKEN or a profile")
        _check_url(settings.url)
        return Target("remote", settings.url, settings.url, settings.token, None, read_only, keymap=keymap)
    if token:
        raise ConfigError("--token needs --url (or PEPYHAT_URL)")
    database = Path(db).expanduser() if db else default_database()
    return Target("embedded", "embedded", database=database, read_only=read_only, color="green", keymap=keymap)


def _check_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"invalid URL {url!r}: use http:// or https://")
