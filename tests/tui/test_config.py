"""Dashboard settings: config.toml, then PEPYHAT_* variables, then flags; profiles and the [keymap]."""

from __future__ import annotations

from pathlib import Path

import pytest

from pepyhat_tui.config import ConfigError, resolve
from pepyhat_tui.screens.app_form import AppForm
from pepyhat_tui.screens.apps import AppsScreen
from pepyhat_tui.screens.help import HelpScreen
from tests.tui.support import settle, steps

CONFIG = """
[profiles.prod]
url = "https://prod.example"
token = "pha_profile"
read_only = true
color = "red"

[profiles.staging]
url = "https://staging.example"
token_command = "echo pha_from_command"
"""


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A config.toml of our own and an environment without PEPYHAT_* (the runner's must not leak in)."""
    for name in ("PEPYHAT_URL", "PEPYHAT_TOKEN", "PEPYHAT_PROFILE", "PEPYHAT_READ_ONLY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("PEPYHAT_CONFIG", str(path))

    def write(extra: str = "") -> Path:
        path.write_text(CONFIG + extra)
        return path

    return write


def test_a_profile_alone(config):
    target = resolve(profile="prod")
    assert (target.mode, target.label, target.url, target.token) == ("remote", "prod", "https://prod.example", "pha_profile")
    assert target.read_only and target.color == "red"
    assert resolve(profile="staging").token == "pha_from_command"


def test_the_environment_beats_the_profile_and_flags_beat_both(config, monkeypatch):
    monkeypatch.setenv("PEPYHAT_URL", "https://env.example")
    monkeypatch.setenv("PEPYHAT_TOKEN", "pha_env")
    target = resolve(profile="prod")
    assert (target.url, target.token) == ("https://env.example", "pha_env")
    target = resolve(profile="prod", url="https://flag.example", token="pha_flag")
    assert (target.url, target.token, target.label) == ("https://flag.example", "pha_flag", "prod")
    # The environment picks the profile too; a flag still wins.
    monkeypatch.setenv("PEPYHAT_PROFILE", "staging")
    assert resolve().label == "staging"
    assert resolve(profile="prod").label == "prod"


def test_read_only_from_any_source_holds(config, monkeypatch):
    assert resolve(profile="prod").read_only  # the profile's
    assert not resolve(profile="staging").read_only
    assert resolve(profile="staging", read_only=True).read_only  # the flag's
    monkeypatch.setenv("PEPYHAT_READ_ONLY", "1")
    assert resolve(profile="staging").read_only  # the environment's
    assert resolve(url="https://x.example", token="pha_x").read_only


def test_no_profile_env_or_flags_means_embedded(config):
    assert resolve().mode == "embedded"
    assert resolve(demo=True).mode == "demo"


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ("[keymap]\nnope = \"x\"\n", ["keymap", "no action 'nope'"]),
        ("[profiles.bad]\nurl = \"ftp://x\"\n", ["profiles.bad.url"]),
        ("[profiles.prod2\n", ["cannot read"]),
    ],
    ids=["unknown-action", "bad-url", "not-toml"],
)
def test_a_bad_config_is_one_clear_line(config, extra, words):
    path = config(extra)
    with pytest.raises(ConfigError) as raised:
        resolve()
    message = str(raised.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word in message


def test_the_keymap_expands_verbs_and_ids(config):
    config('[keymap]\nnew = "a"\n"roles.new" = "r"\nrefresh = "f5"\n')
    keymap = dict(resolve().keymap)
    assert keymap["apps.new"] == keymap["users.new"] == keymap["members.new"] == "a"
    assert keymap["roles.new"] == "r"  # an id beats its verb
    assert keymap["refresh"] == "f5"


async def test_a_rebound_key_works_and_shows_where_keys_are_listed(config, service):
    config('[keymap]\n"apps.new" = "a"\nhelp = "f1"\n')
    keymap = resolve().keymap
    token = service.mint()
    app = service.dashboard(token)
    app.set_keymap(dict(keymap))
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await steps(pilot, "n")
        assert isinstance(app.screen, AppsScreen)  # n no longer creates an app
        await steps(pilot, "f1")
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one("#help-keys")
        rows = {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert rows["New"] == "a" and rows["Help"] == "f1"
        await steps(pilot, "escape", "a")
        assert isinstance(app.screen, AppForm)
