"""``pepyhat-tui``: resolve the target, check it, then open the dashboard.

Everything that can fail before the first paint (bad profile, bad token,
unreachable server) fails here with one line on stderr and exit 1.  Embedded,
the service's child process starts here, before Textual is even imported, so
it boots on the other core while the dashboard loads and paints its shell; a
child that cannot start is reported by the dashboard, in the child's words.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from pepyhat.embedded import EmbeddedChild
    from pepyhat_tui.config import Target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pepyhat-tui", description="The Pepy Hat operator dashboard.")
    parser.add_argument("--url", help="a running pepyhat service (default $PEPYHAT_URL; none = embedded)")
    parser.add_argument("--token", help="admin token pha_... (default $PEPYHAT_TOKEN)")
    parser.add_argument("--profile", help="a profile from config.toml in the config dir")
    parser.add_argument("--db", metavar="PATH", help="embedded mode: the SQLite file (default: in the data dir)")
    parser.add_argument("--demo", action="store_true", help="embedded, on a fresh temporary demo organisation")
    parser.add_argument("--read-only", action="store_true", help="offer no action that changes anything")
    return parser


async def _check_remote(target: Target):
    from pepyhat_tui.client import ClientError, PepyHatClient
    from pepyhat_tui.config import ConfigError

    client = PepyHatClient.remote(target.url, target.token)
    try:
        identity = await client.validate()
    except ClientError as exc:
        if exc.status == 401:
            raise ConfigError(f"token refused by {target.url}: {exc.message}") from None
        raise ConfigError(f"cannot use {target.url}: {exc.message}") from None
    finally:
        await client.aclose()
    if identity.kind != "admin":
        raise ConfigError("that is an app key (phk_); the dashboard needs an admin token (pha_)")
    return identity


def _check_embedded(target: Target) -> None:
    from pepyhat_tui.config import ConfigError

    folder = target.database.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"cannot write to {folder}")


class _LaunchError(Exception):
    """The child process could not even be launched (no temp dir, no socket)."""


def _start(database, *, demo: bool = False) -> EmbeddedChild:
    import getpass

    from pepyhat.embedded import start_child

    try:
        return start_child(database, f"{getpass.getuser()} (embedded)", demo=demo)
    except OSError as exc:
        raise _LaunchError(f"cannot start the embedded service: {exc.strerror or exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    child: EmbeddedChild | None = None
    try:
        try:
            # The child starts before the config is even loaded (pydantic-settings) when it is surely needed.
            if args.demo and not (args.url or args.profile):
                child = _start(None, demo=True)  # surely the demo: the config only adds a keymap
            elif (database := _surely_embedded(args)) is not None:
                child = _start(database)
            target, identity = _preflight(args)
            guessed_wrong = target.mode == "remote" or (target.mode == "embedded" and child.database != target.database)
            if child is not None and guessed_wrong:
                child.stop()  # a guess the config contradicts
                child = None
            if target.mode == "embedded" and child is None:
                child = _start(target.database)
        except (_LaunchError, _Refused) as exc:
            print(f"pepyhat-tui: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 130

        from pepyhat_tui.app import PepyHatApp

        while True:
            app = PepyHatApp(target, identity=identity, embedded=child)
            app.run()
            if app.relaunch is None:
                return 0
            # The token was refused and the operator signed in with another profile: open on it.
            target, identity = app.relaunch
            if child is not None:
                child.stop()
                child = None
    finally:
        if child is not None:
            child.stop()


def _surely_embedded(args: argparse.Namespace) -> Path | None:
    """The database, when neither flags, environment nor config file name a service (resolve agrees)."""
    if args.url or args.profile or args.token or os.environ.get("PEPYHAT_URL") or os.environ.get("PEPYHAT_PROFILE"):
        return None
    from pepyhat_tui.places import config_path, default_database

    try:
        text = config_path().read_text()
    except FileNotFoundError:
        text = ""
    except (OSError, ValueError):
        return None  # resolve says what is wrong with it
    config = {}
    if text:
        import tomllib

        try:
            config = tomllib.loads(text)
        except ValueError:
            return None
    if config.get("url") or config.get("profile"):
        return None
    return Path(args.db).expanduser() if args.db else default_database()


class _Refused(Exception):
    """A ConfigError, once the config module is loaded (it is not, when the demo starts)."""


def _preflight(args: argparse.Namespace):
    """The target and, remote, the token's identity; or _Refused saying why not."""
    from pepyhat_tui.config import ConfigError, resolve

    try:
        target = resolve(
            url=args.url, token=args.token, profile=args.profile, db=args.db, demo=args.demo, read_only=args.read_only
        )
        identity = None
        if target.mode == "remote":
            import asyncio

            identity = asyncio.run(_check_remote(target))
        elif target.mode == "embedded":
            _check_embedded(target)
    except ConfigError as exc:
        raise _Refused(str(exc)) from None
    return target, identity


if __name__ == "__main__":
    sys.exit(main())
