"""``pepyhat-tui``: resolve the target, check it, then open the dashboard.

Everything that can fail before the first paint (bad profile, bad token,
unreachable server) fails here with one line on stderr and exit 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from typing import Sequence

from pepyhat_tui.config import ConfigError, Target, resolve


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
    folder = target.database.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create {folder}: {exc.strerror}") from None
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"cannot write to {folder}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        target = resolve(
            url=args.url, token=args.token, profile=args.profile, db=args.db, demo=args.demo, read_only=args.read_only
        )
        identity = None
        if target.mode == "remote":
            identity = asyncio.run(_check_remote(target))
        elif target.mode == "embedded":
            _check_embedded(target)
    except ConfigError as exc:
        print(f"pepyhat-tui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130

    from pepyhat_tui.app import PepyHatApp

    PepyHatApp(target, identity=identity).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
