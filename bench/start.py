"""Dashboard start-up: time to the first painted list, against a minimal Textual app.

Targets (DESIGN.md): ``pepyhat-tui`` paints its Apps list in at most 1.5 times
(embedded: ``--demo``, and ``--db`` on an existing file) or 1.3 times (remote:
``--url`` against a running ``pepyhat serve``) the time a minimal Textual app
takes to paint one label, in the same terminal.  Everything runs in one private
tmux server (own socket, no user config, 120x36): each command is typed into a
ready shell, and the clock stops when ``capture-pane`` (polled every 10 ms) first
shows the expected text.  Runs alternate the minimal app with each subject, so
drift hits both alike; medians of ``--runs``.  The shell's first paint (the
environment bar) is reported too, for information, and two floors: the minimal
app after loading pydantic, pydantic-settings and httpx (remote: the dashboard
cannot parse an answer without them), and the same waiting for a child process
that imports SQLAlchemy's ORM, FastAPI and uvicorn (embedded: the service cannot
answer without them).  A floor above a target means this stack cannot meet it.

    python bench/start.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLL = 0.01
TIMEOUT = 60.0
LIST = "billing"  # an app of the demo organisation: the Apps list is painted
SHELL = "Pepy Hat │"  # the environment bar: the shell is painted
BASELINE = "minimal textual app ready"


def script(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    return str(path) if path.exists() else name


class Terminal:
    """A private tmux server (own socket, no user config); a fresh 120x36 shell for each launch."""

    def __init__(self) -> None:
        self.socket = f"pepyhat-bench-{uuid.uuid4().hex[:10]}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self.env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
        # As on an operator's machine, Python keeps the bytecode it compiles (the warm-up writes it):
        # with PYTHONDONTWRITEBYTECODE set (this sandbox), an editable install compiles each of its
        # modules again at every start (~45 ms in the embedded child alone), which a real one never does.
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        # A session that outlives the measured ones: killing the last would stop the server under us.
        self.tmux("new-session", "-d", "-s", "keep", "-x", "120", "-y", "36", "sleep 1000000")

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True, env=self.env
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {result.stderr.strip()}")
        return result.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "bench")

    def wait(self, ready, timeout: float = TIMEOUT) -> float:
        deadline = time.perf_counter() + timeout
        while True:
            now = time.perf_counter()
            if ready(self.screen()):
                return now
            if now > deadline:
                raise RuntimeError(f"timed out; the pane shows:\n{self.screen()}")
            time.sleep(POLL)

    def run_once(self, command: list[str], expect: str, env: dict[str, str]) -> tuple[float, float | None]:
        """Seconds from Enter to ``expect`` on screen (and to the shell, if it came first)."""
        extra = [arg for name, value in env.items() for arg in ("-e", f"{name}={value}")]
        self.tmux("new-session", "-d", "-s", "bench", "-x", "120", "-y", "36", "-c", str(ROOT), *extra,
                  "bash --noprofile --norc")
        try:
            marker = "bench-shell-ready"
            self.tmux("send-keys", "-t", "bench", "-l", f"echo {marker}")
            self.tmux("send-keys", "-t", "bench", "Enter")
            self.wait(lambda s: s.count(marker) >= 2, timeout=10)
            # The marker's arithmetic makes the line printed on exit differ from the line typed.
            self.tmux("send-keys", "-t", "bench", "-l", f"clear; {shlex.join(command)}; echo bench-exit-$((40+2))")
            shell: list[float] = []

            def painted(screen: str) -> bool:
                if not shell and SHELL in screen:
                    shell.append(time.perf_counter())
                return expect in screen

            start = time.perf_counter()
            self.tmux("send-keys", "-t", "bench", "Enter")
            done = self.wait(painted)
            # Quit cleanly and wait for the process to end (the demo removes its temporary database).
            self.tmux("send-keys", "-t", "bench", "C-q")
            self.wait(lambda s: "bench-exit-42" in s, timeout=15)
            return done - start, (shell[0] - start if shell else None)
        finally:
            self.tmux("kill-session", "-t", "bench")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env)


def pepyhat(*args: str) -> str:
    result = subprocess.run([script("pepyhat"), *args], capture_output=True, text=True, cwd=ROOT, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"pepyhat {args[0]}: {result.stderr.strip()}")
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """``pepyhat serve`` on a loopback port, ready when constructed."""

    def __init__(self, db: Path, log: Path) -> None:
        import httpx

        self.url = f"http://127.0.0.1:{free_port()}"
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [script("pepyhat"), "serve", "--db", str(db), "--port", self.url.rsplit(":", 1)[1]],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
            )
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"pepyhat serve exited: {log.read_text()[-1000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("pepyhat serve did not become ready")
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("start: tmux is not installed", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="pepyhat-bench-start-"))
    # The embedded default's file and the server's, prepared once (migrated, the demo organisation).
    embedded_db, served_db = work / "embedded.db", work / "served.db"
    for db in (embedded_db, served_db):
        pepyhat("demo-data", "--db", str(db))
    token = pepyhat("init", "--db", str(served_db))
    server = Serve(served_db, work / "serve.log")
    # The config dir points at an empty folder: no profile, no keymap of the user's.
    env = {"PEPYHAT_CONFIG": str(work / "config.toml"), "PEPYHAT_TOKEN": token}
    tui = script("pepyhat-tui")
    minimal = [sys.executable, str(HERE / "tui_startup_baseline.py")]
    baseline = ("minimal Textual app", minimal, BASELINE, None)
    subjects = [
        ("embedded demo", [tui, "--demo"], LIST, 1.5),
        ("embedded default", [tui, "--db", str(embedded_db)], LIST, 1.5),
        ("remote", [tui, "--url", server.url], LIST, 1.3),
        # Floors (no target): the minimal app after loading only the stack the dashboard cannot
        # paint a list without, and waiting for a child that loads what the service cannot answer without.
        ("floor, remote", [*minimal, "--stack"], BASELINE, None),
        ("floor, embedded", [*minimal, "--service"], BASELINE, None),
    ]
    times: dict[str, list[float]] = {name: [] for name, *_ in [baseline, *subjects]}
    shells: dict[str, list[float]] = {name: [] for name, *_ in subjects}
    terminal = Terminal()
    try:
        for name, command, expect, _ in [baseline, *subjects]:  # warm the file cache once, untimed
            terminal.run_once(command, expect, env)
        for run in range(args.runs):
            for name, command, expect, _ in subjects:
                for label, cmd, exp in ((baseline[0], baseline[1], baseline[2]), (name, command, expect)):
                    elapsed, shell = terminal.run_once(cmd, exp, env)
                    times[label].append(elapsed)
                    if shell is not None and label in shells:
                        shells[label].append(shell)
            print(f"run {run + 1}: " + ", ".join(f"{n} {t[-1] * 1000:.0f} ms" for n, t in times.items()), file=sys.stderr)
    finally:
        terminal.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    base = statistics.median(times[baseline[0]])
    print(f"{baseline[0]:<18} label painted:      median {base * 1000:5.0f} ms over {len(times[baseline[0]])} runs")
    results = []
    for name, _, _, target in subjects:
        median = statistics.median(times[name])
        ratio = median / base
        shell = f"; shell at {statistics.median(shells[name]) * 1000:.0f} ms" if shells[name] else ""
        if target is None:
            print(f"{name:<18} label painted:      median {median * 1000:5.0f} ms, ratio {ratio:.2f} (the stack's own cost)")
            continue
        print(f"{name:<18} Apps list painted:  median {median * 1000:5.0f} ms, ratio {ratio:.2f} (target <= {target}){shell}")
        figure = name.replace(" ", "_") + "_ratio"
        results.append(f"RESULT start {figure}={ratio:.2f} target={target} {'PASS' if ratio <= target else 'MISS'}")
    for line in results:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
