"""The service beside the dashboard: what ``pepyhat-tui`` runs when given no ``--url``.

The dashboard's one door into the service itself (beside the contract,
``pepyhat.schemas``).  ``start_child`` (stdlib only, so the dashboard loads no
service code) runs the service as a private child process listening on a Unix
socket in a fresh 0700 directory; ``python -m pepyhat.embedded`` is that child.
``build_embedded_service`` builds the same service in-process (the tests' way).

A request without a token acts as the operator: the socket is the only door to
that, and only its owner can reach it.  The child dies with the dashboard however
the dashboard ends: it watches a pipe whose write end only the dashboard holds
(EOF = the dashboard is gone, even after SIGKILL), and on Linux the kernel also
sends it SIGTERM when the dashboard dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

SOCKET_NAME = "service.sock"
LOG_NAME = "service.log"
DEMO_DB_NAME = "demo.db"
FAILED = "pepyhat-embedded:"  # the child's one-line reason for not starting, on stderr
STOP_GRACE = 5.0  # seconds the child has to shut down (flush usage) before it is killed


def build_embedded_service(database: Path, operator: str, *, demo: bool = False, demo_now: datetime | None = None):
    """The service's ASGI app on a migrated SQLite file, filled with the demo org if asked (blocking).

    A request without a token acts as ``operator``, with every capability.
    """
    from pepyhat.api import create_app
    from pepyhat.config import Settings

    settings = Settings(database_url=f"sqlite:///{database}", embedded_operator=operator, redis_url=None)
    app = create_app(settings, run_migrations=True)
    if demo:
        from pepyhat import demo as demo_data

        demo_data.generate(app.state.runtime.engine, users=300, apps=5, seed=7, now=demo_now)
    return app


# -- the dashboard's side -------------------------------------------------------


class EmbeddedChild:
    """A running child service: its socket, and why it stopped if it did."""

    def __init__(self, directory: Path, process: subprocess.Popen, lifeline: int, database: Path) -> None:
        self.directory = directory
        self.socket_path = directory / SOCKET_NAME
        self.database = database
        self.process = process
        self._lifeline = lifeline  # the pipe's write end: closing it tells the child to stop

    def failure(self) -> str | None:
        """None while the child runs; once it has exited, why (the last words of its stderr)."""
        code = self.process.poll()
        if code is None:
            return None
        return f"the embedded service stopped ({_exit_words(code)}): {self.last_words()}"

    def last_words(self) -> str:
        try:
            lines = (self.directory / LOG_NAME).read_text(errors="replace").splitlines()
        except OSError:
            return "no output"
        lines = [line.strip() for line in lines if line.strip()]
        mine = [line[len(FAILED):].strip() for line in lines if line.startswith(FAILED)]
        words = mine[-1] if mine else (lines[-1] if lines else "no output")
        return words[:300]

    def stop(self) -> None:
        """Ask the child to stop (EOF on its pipe), kill it if it lingers, remove the directory."""
        if self._lifeline >= 0:
            try:
                os.close(self._lifeline)
            except OSError:
                pass
            self._lifeline = -1
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def _exit_words(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit {code}"


def _private_directory() -> Path:
    # A Unix socket path is at most 107 bytes: a long $TMPDIR falls back to /tmp.
    base = tempfile.gettempdir()
    if len(os.path.join(base, "pepyhat-xxxxxxxx", SOCKET_NAME)) > 100:
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix="pepyhat-", dir=base))  # mode 0700


def start_child(database: Path | None, operator: str, *, demo: bool = False) -> EmbeddedChild:
    """Start the service in a child process; returns at once, while it boots on another core.

    The listening socket is bound here, so a request made before the child serves
    waits in the backlog instead of failing; ``database`` None (the demo) means a
    fresh file in the private directory, gone with it.
    """
    directory = _private_directory()
    try:
        if database is None:
            database = directory / DEMO_DB_NAME
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(directory / SOCKET_NAME))
            os.chmod(directory / SOCKET_NAME, 0o600)
            listener.listen(128)
            read_end, lifeline = os.pipe()
            command = [
                sys.executable, "-m", "pepyhat.embedded", "--fd", str(listener.fileno()), "--db", str(database),
                "--operator", operator, "--directory", str(directory), "--parent", str(os.getpid()),
            ]
            if demo:
                command.append("--demo")
            with open(directory / LOG_NAME, "wb") as log:
                process = subprocess.Popen(
                    command, stdin=read_end, stdout=subprocess.DEVNULL, stderr=log, pass_fds=(listener.fileno(),),
                    # Its own session: the terminal's ctrl+c and ctrl+z reach the dashboard only.
                    start_new_session=True,
                )
            os.close(read_end)
        finally:
            listener.close()  # the child holds it now; once the child is gone, connecting fails at once
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return EmbeddedChild(directory, process, lifeline, database)


# -- the child's side -------------------------------------------------------------


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM when the dashboard dies; if it died before we asked, go now."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass  # the pipe still tells us
    if os.getppid() != parent:
        os._exit(0)


def _watch_lifeline(directory: Path, on_eof) -> None:
    """Block on stdin (the pipe): EOF means the dashboard is gone or asked us to stop."""
    try:
        while os.read(0, 512):
            pass
    except OSError:
        pass
    on_eof()
    threading.Event().wait(STOP_GRACE)  # a graceful stop that hangs ends here
    shutil.rmtree(directory, ignore_errors=True)
    os._exit(0)


def _quiet_server(uvicorn):
    class Server(uvicorn.Server):
        @contextmanager
        def capture_signals(self):
            # Ours is installed: uvicorn's would re-raise SIGTERM after the shutdown, before our cleanup.
            yield

    return Server


def _demo_schema(database: Path) -> None:
    """The demo's fresh file, copied from a migrated empty schema kept in the cache dir.

    Alembic then runs once per set of migrations (the template's name is their
    digest), not at every ``--demo``; without a cache dir it simply migrates.
    """
    import hashlib
    import sqlite3

    from platformdirs import user_cache_dir

    from pepyhat.store.db import MIGRATIONS, VERSION_TABLE, head_revisions, make_engine, migrate

    digest = hashlib.sha256()
    for path in sorted([*(MIGRATIONS / "versions").glob("*.py"), MIGRATIONS / "env.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    template = Path(user_cache_dir("pepyhat", appauthor=False)) / f"schema-{digest.hexdigest()[:20]}.db"
    try:
        shutil.copyfile(template, database)
        with sqlite3.connect(database) as copy:
            at = {row[0] for row in copy.execute(f"SELECT version_num FROM {VERSION_TABLE}")}
        if at == head_revisions():
            return
    except (OSError, sqlite3.Error):
        pass
    database.unlink(missing_ok=True)  # no template, or not one to trust: migrate, and keep a new one
    engine = make_engine(f"sqlite:///{database}")
    migrate(engine)
    engine.dispose()
    try:
        template.parent.mkdir(parents=True, exist_ok=True)
        partial = template.with_name(f"{template.name}.{os.getpid()}.tmp")
        with sqlite3.connect(database) as source, sqlite3.connect(partial) as copy:
            source.backup(copy)
        os.replace(partial, template)  # whole or not at all, whoever else is writing it
    except (OSError, sqlite3.Error):
        pass  # no cache: the next demo migrates too


def _fail(reason: str) -> int:
    print(f"{FAILED} {reason}", file=sys.stderr, flush=True)
    return 1


def child_main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pepyhat.embedded")
    parser.add_argument("--fd", type=int, required=True, help="the listening Unix socket, inherited")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--operator", required=True)
    parser.add_argument("--directory", type=Path, required=True, help="the private directory, removed at the end")
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)
    _die_with_parent(args.parent)

    server = None
    stopping = threading.Event()

    def stop() -> None:
        stopping.set()
        if server is None:  # still booting: nothing to flush
            shutil.rmtree(args.directory, ignore_errors=True)
            os._exit(0)
        server.should_exit = True

    # SIGTERM (the kernel's word that the dashboard died, or anyone's) stops us as EOF does.
    signal.signal(signal.SIGTERM, lambda *_: stop())
    threading.Thread(target=_watch_lifeline, args=(args.directory, stop), daemon=True).start()

    listener = socket.socket(fileno=args.fd)
    if listener.family != socket.AF_UNIX:
        # Tokenless requests act as the operator: never on a network socket.
        return _fail("refusing to serve the operator on anything but a private Unix socket")
    try:
        if args.demo:
            _demo_schema(args.db)
        app = build_embedded_service(args.db, args.operator, demo=args.demo)
        import uvicorn
    except Exception as exc:  # why it cannot start, in one line: the dashboard shows it
        first = (str(exc).strip().splitlines() or [""])[0]
        return _fail(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
    # ws="none": the service has no WebSocket route, and loading a WebSocket protocol costs ~20 ms of boot.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", timeout_graceful_shutdown=3, ws="none"
    )
    server = _quiet_server(uvicorn)(config)
    server.run(sockets=[listener])
    if stopping.is_set() or os.getppid() != args.parent:  # the dashboard is gone or going: leave nothing behind
        shutil.rmtree(args.directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(child_main())
