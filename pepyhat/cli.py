"""``pepyhat``: serve, init, token create, demo-data, export access.

Plaintext keys go alone to stdout; everything else to stderr.  Failures are one
line and exit 1; usage errors exit 2 (argparse's, and UsageError's in one line);
never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """One line for the operator; exit 1."""

    exit_code = EXIT_FAILURE


class UsageError(CommandError):
    """An option's value is unusable: one line, exit 2."""

    exit_code = EXIT_USAGE


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def _db_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="database URL (sqlite:///path or postgresql+psycopg://...); default $PEPYHAT_DATABASE_URL or a SQLite file in the data dir",
    )


def _database_url(args) -> str:
    from pepyhat.config import Settings

    return args.db or Settings().database_url


def _open(url: str):
    """Engine on a migrated schema, or a CommandError naming what went wrong."""
    from sqlalchemy.exc import SQLAlchemyError

    from pepyhat.store.db import DatabaseURLError, make_engine, migrate

    try:
        engine = make_engine(url)
        migrate(engine)
        return engine
    except DatabaseURLError as exc:
        raise CommandError(str(exc)) from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise CommandError(f"cannot open database: {reason}") from None
    except OSError as exc:
        raise CommandError(f"cannot open database: {exc}") from None


def cmd_serve(args) -> int:
    import uvicorn

    from pepyhat import httpserver
    from pepyhat.store.db import normalize_url

    url = _database_url(args)
    try:
        url = normalize_url(url)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _open(url).dispose()
    redis_url = args.redis_url or os.environ.get("PEPYHAT_REDIS_URL")
    if redis_url:
        from pepyhat.ratelimit import RedisLimiter

        try:
            limiter = RedisLimiter(redis_url)
            limiter.ping()
            limiter.close()
        except Exception as exc:
            raise CommandError(f"cannot reach Redis at {redis_url}: {exc}") from None
        os.environ["PEPYHAT_REDIS_URL"] = redis_url
    os.environ["PEPYHAT_DATABASE_URL"] = url
    if args.log_level:
        os.environ["PEPYHAT_LOG_LEVEL"] = args.log_level
    from pepyhat import logs

    logs.configure(os.environ.get("PEPYHAT_LOG_LEVEL", "INFO"))
    _check_bind(args.host, args.port)
    _say(f"pepyhat: serving on http://{args.host}:{args.port} ({args.workers} worker(s))")
    try:
        uvicorn.run(
            "pepyhat.cli:served_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
            http=httpserver.protocol(),  # what it cannot parse is answered with our envelope too
            ws="none",  # no WebSocket route: an upgrade is answered as plain HTTP
        )
    except OSError as exc:
        raise CommandError(f"cannot serve on {args.host}:{args.port}: {exc}") from None
    except SystemExit as exc:  # uvicorn exits 1 or 3 when startup fails; we promise 1
        if exc.code:
            raise CommandError(f"cannot serve on {args.host}:{args.port}: server failed to start (see the log above)") from None
    return 0


def served_app():
    """uvicorn's factory, in each worker: the application, its start-up objects then frozen.

    Frozen objects (modules, routes, models: ~100k) are left out of the garbage
    collector's full collections, which otherwise scan them all every few
    thousand requests: ~200 ms each on a 2-core machine, the p99 of /healthz
    (bench/README.md, issue 11).
    """
    import gc

    from pepyhat.api import app_from_env

    app = app_from_env()
    gc.collect()
    gc.freeze()
    return app


def _check_bind(host: str, port: int) -> None:
    """Fail in one line, before any log, when the address is taken or bad."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind(address)
    except OSError as exc:
        raise CommandError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def _actor(name: str):
    """Whoever runs the command: every capability, no key; audited under ``name`` from "local"."""
    from pepyhat.service.actor import Actor

    return Actor.local(name)


def cmd_init(args) -> int:
    from pepyhat.service import keys
    from pepyhat.service.actor import LOCAL
    from pepyhat.store.db import make_sessionmaker, transaction

    engine = _open(_database_url(args))
    with transaction(make_sessionmaker(engine)) as session:
        created = keys.ensure_superadmin(session, _actor("pepyhat init"), LOCAL)
    if created is None:
        _say("pepyhat: schema up to date; an active superadmin token already exists (none minted)")
        return 0
    _say(f"pepyhat: schema up to date; minted superadmin token {created.id}. Store it now: it is shown only once.")
    print(created.key)
    return 0


# The request field each of ``token create``'s flags fills, to name the flag in a refusal.
TOKEN_FLAGS = {"name": "--name", "capabilities": "--capability", "scopes": "--scope", "expires_in": "--expires-in"}


def _token_request(args):
    """The flags as the API's request body; a refusal names the flag and the value."""
    from pydantic import ValidationError

    from pepyhat.schemas import parse_duration
    from pepyhat.schemas import KeyCreate

    scopes = []
    for text in args.scope or []:
        path, sep, ops = text.partition("=")
        if not sep:
            raise CommandError(f"--scope {text!r}: use PATH=OPS[,OPS], e.g. apps/crm/**=read,write")
        scopes.append({"path": path, "operations": [o.strip() for o in ops.split(",") if o.strip()]})
    fields = {
        "name": args.name,
        "kind": "admin",
        "capabilities": sorted(set(args.capability)),
        "scopes": scopes or None,  # none given: the token inherits the command's own, every path
        "expires_in": args.expires_in,
    }
    if args.expires_in is not None:  # a usage error (exit 2), found before any database is opened
        try:
            if not parse_duration(args.expires_in):
                raise UsageError("--expires-in: must be more than 0s")  # born expired: a mistake
        except ValueError as exc:
            raise UsageError(f"--expires-in: {exc}") from None
    try:
        return KeyCreate.model_validate(fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        field, *rest = error["loc"]
        flag = TOKEN_FLAGS.get(str(field), str(field))
        if rest and isinstance(rest[0], int):  # one of a repeated flag: show the value as given
            given = (args.scope if field == "scopes" else fields[field])[rest[0]]
            raise CommandError(f"{flag} {given!r}: {error['msg']}") from None
        raise CommandError(f"{flag}: {error['msg']}") from None


def cmd_token_create(args) -> int:
    from pepyhat.errors import DomainError, InvalidField
    from pepyhat.service import keys
    from pepyhat.service.actor import LOCAL
    from pepyhat.store.db import make_sessionmaker, transaction

    if not args.capability:
        raise CommandError("give at least one --capability (e.g. --capability keys.read)")
    body = _token_request(args)
    engine = _open(_database_url(args))
    try:
        with transaction(make_sessionmaker(engine)) as session:
            created = keys.create_key(session, _actor("pepyhat cli"), LOCAL, body)
    except InvalidField as exc:
        raise CommandError(f"{TOKEN_FLAGS.get(exc.field, exc.field)} {exc.problem}") from None
    except DomainError as exc:
        raise CommandError(exc.message) from None
    _say(f"pepyhat: minted admin token {created.id} ({created.name}). Store it now: it is shown only once.")
    print(created.key)
    return 0


def cmd_demo_data(args) -> int:
    import time

    from pepyhat import demo

    engine = _open(_database_url(args))
    started = time.perf_counter()
    try:
        summary = demo.generate(
            engine, users=args.users, apps=args.apps, seed=args.seed, key_count=args.keys, crm_members=args.members
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    _say(
        f"pepyhat: demo organisation loaded in {time.perf_counter() - started:.1f}s: {summary.apps} apps, "
        f"{summary.roles} roles, {summary.users} users, {summary.grants} grants, {summary.keys} keys"
    )
    return 0


def _review_from_db(args):
    from pepyhat.errors import DomainError
    from pepyhat.service import review
    from pepyhat.store.db import make_sessionmaker, transaction

    engine = _open(_database_url(args))
    try:
        with transaction(make_sessionmaker(engine)) as session:
            return review.access_review(session, _actor("pepyhat export"), args.app)
    except DomainError as exc:
        raise CommandError(exc.message) from None
    finally:
        engine.dispose()


def _review_from_url(args):
    """The same review from a running service, through its admin API."""
    from urllib.parse import quote

    import httpx
    from pydantic import ValidationError

    from pepyhat.schemas import AccessReview, ErrorEnvelope

    token = args.token or os.environ.get("PEPYHAT_TOKEN")
    if not token:
        raise UsageError("--url needs --token T (or $PEPYHAT_TOKEN): an admin token with users.read")
    url = f"{args.url.rstrip('/')}/api/v1/apps/{quote(args.app, safe='')}/access-review"
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
    except httpx.InvalidURL as exc:
        raise UsageError(f"--url {args.url!r}: {exc}") from None
    except httpx.HTTPError as exc:
        raise CommandError(f"cannot reach {args.url}: {type(exc).__name__}: {exc}") from None
    try:
        if response.status_code != 200:
            error = ErrorEnvelope.model_validate_json(response.content).error
            raise CommandError(f"{response.status_code} {error.code}: {error.message}")
        return AccessReview.model_validate_json(response.content)
    except ValidationError:
        raise CommandError(f"{args.url} answered HTTP {response.status_code}, not Pepy Hat's API") from None


def cmd_export_access(args) -> int:
    from pepyhat import review

    if args.url and args.db:
        raise UsageError("give --db or --url, not both")
    found = _review_from_url(args) if args.url else _review_from_db(args)
    if args.output in (None, "-"):
        review.write(found, args.format, sys.stdout)
        _say(f"pepyhat: access review of {found.app}: {review.summary(found)}")
        return 0
    try:
        with open(args.output, "w", encoding="utf-8", newline="") as out:
            review.write(found, args.format, out)
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    _say(f"pepyhat: access review of {found.app} written to {os.path.abspath(args.output)}: {review.summary(found)}")
    return 0


def _port(text: str) -> int:
    value = int(text) if text.isdigit() else -1
    if not 0 <= value <= 65535:  # getaddrinfo would wrap 99999 silently
        raise argparse.ArgumentTypeError("must be 0 to 65535")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pepyhat", description="Pepy Hat: centralized authorization for internal apps.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the HTTP service (migrates the schema first)")
    _db_arg(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8000)
    serve.add_argument("--workers", type=_positive, default=1)
    serve.add_argument("--redis-url", default=None, help="share rate limits across nodes (default $PEPYHAT_REDIS_URL)")
    serve.add_argument("--log-level", default=None, choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=cmd_serve)

    init = sub.add_parser("init", help="migrate; mint a superadmin token if none is active")
    _db_arg(init)
    init.set_defaults(func=cmd_init)

    token = sub.add_parser("token", help="admin tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    create = token_sub.add_parser("create", help="mint an admin token; its plaintext alone goes to stdout")
    create.add_argument("--name", required=True)
    create.add_argument("--capability", action="append", metavar="C", help="repeatable, e.g. keys.read")
    create.add_argument("--scope", action="append", metavar="PATH=OPS", help="repeatable, e.g. apps/crm/**=read,write (default **=*)")
    create.add_argument("--expires-in", metavar="DURATION", help="e.g. 30d, 12h, 1w")
    _db_arg(create)
    create.set_defaults(func=cmd_token_create)

    demo = sub.add_parser("demo-data", help="load a deterministic demo organisation")
    _db_arg(demo)
    demo.add_argument("--users", type=_count, default=200)
    demo.add_argument("--apps", type=_positive, default=5)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--keys", type=_count, default=None, metavar="N", help="at least N keys (app keys added to the demo's own)")
    demo.add_argument("--members", type=_count, default=None, metavar="N", help="exactly N users with a role in crm")
    demo.set_defaults(func=cmd_demo_data)

    export = sub.add_parser("export", help="export data for review")
    export_sub = export.add_subparsers(dest="export_command", required=True, metavar="WHAT")
    access = export_sub.add_parser(
        "access", help="an app's access review: users x roles x permissions, with granters, dates and expiries"
    )
    access.add_argument("--app", required=True, metavar="SLUG")
    access.add_argument("--format", choices=["csv", "json"], default="csv")
    access.add_argument("--output", "-o", metavar="PATH", help="write here (default: stdout)")
    _db_arg(access)
    access.add_argument("--url", metavar="URL", help="read from a running service instead of a database")
    access.add_argument("--token", metavar="T", help="admin token for --url (default $PEPYHAT_TOKEN)")
    access.set_defaults(func=cmd_export_access)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CommandError as exc:
        _say(f"pepyhat: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `| head` stopped reading: nothing to say, and nothing more to write
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except Exception as exc:  # last resort: one line, never a traceback
        _say(f"pepyhat: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'unexpected error'}")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
