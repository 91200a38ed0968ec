"""Dashboard start-up: time to the first painted list, against a minimal Textual app.

Target (DESIGN.md): ``pepyhat-tui --demo`` paints its Apps list in at most 1.5
times the time a minimal Textual app takes to paint one label, in the same
terminal.  Both run in the same tmux server (headless, 120x36), launched by
typing the command into a ready shell; the clock stops when ``capture-pane``
(polled every 10 ms) first shows the expected text.  Runs alternate so drift
hits both sides alike; the medians and their ratio are printed.

    python bench/tui_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET = 1.5
POLL = 0.01
TIMEOUT = 60.0


def dashboard_command() -> list[str]:
    script = Path(sys.executable).with_name("pepyhat-tui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pepyhat_tui.cli"]


class Terminal:
    """A private tmux server (own socket, no user config) holding one shell."""

    def __init__(self) -> None:
        self.socket = f"pepyhat-bench-{uuid.uuid4().hex[:10]}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self.env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")

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

    def run_once(self, command: list[str], expect: str) -> float:
        """Seconds from Enter to ``expect`` on screen, in a fresh 120x36 session."""
        self.tmux("new-session", "-d", "-s", "bench", "-x", "120", "-y", "36", "-c", str(ROOT), "bash --noprofile --norc")
        try:
            marker = "bench-shell-ready"
            self.tmux("send-keys", "-t", "bench", "-l", f"echo {marker}")
            self.tmux("send-keys", "-t", "bench", "Enter")
            self.wait(lambda s: s.count(marker) >= 2, timeout=10)
            # The marker's arithmetic makes the line printed on exit differ from the line typed.
            self.tmux("send-keys", "-t", "bench", "-l", f"clear; {shlex.join(command)}; echo bench-exit-$((40+2))")
            start = time.perf_counter()
            self.tmux("send-keys", "-t", "bench", "Enter")
            painted = self.wait(lambda s: expect in s)
            elapsed = painted - start
            # Quit cleanly and wait for the process to end (the demo removes its temporary database).
            self.tmux("send-keys", "-t", "bench", "C-q")
            self.wait(lambda s: "bench-exit-42" in s, timeout=15)
            return elapsed
        finally:
            self.tmux("kill-session", "-t", "bench")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        print("tui_startup: tmux is not installed", file=sys.stderr)
        return 1

    demo = [*dashboard_command(), "--demo"]
    subjects = {
        "minimal Textual app": ([sys.executable, str(HERE / "tui_startup_baseline.py")], "minimal textual app ready"),
        "pepyhat-tui --demo": (demo, "billing"),
        # For information: the shell (environment bar, "loading…") paints before the service is up.
        "pepyhat-tui --demo shell": (demo, "Pepy Hat │ demo"),
    }
    times: dict[str, list[float]] = {name: [] for name in subjects}
    terminal = Terminal()
    try:
        for name, (command, expect) in subjects.items():  # warm the file cache once, untimed
            terminal.run_once(command, expect)
        for run in range(args.runs):
            for name, (command, expect) in subjects.items():
                times[name].append(terminal.run_once(command, expect))
            print(f"run {run + 1}: " + ", ".join(f"{n} {t[-1] * 1000:.0f} ms" for n, t in times.items()), file=sys.stderr)
    finally:
        terminal.close()

    baseline, dashboard, shell = (statistics.median(times[name]) for name in subjects)
    ratio = dashboard / baseline
    print(f"minimal Textual app, label painted:     median {baseline * 1000:5.0f} ms over {args.runs} runs")
    print(f"pepyhat-tui --demo, Apps list painted:  median {dashboard * 1000:5.0f} ms over {args.runs} runs")
    print(f"pepyhat-tui --demo, shell painted:      median {shell * 1000:5.0f} ms (ratio {shell / baseline:.2f}, for information)")
    print(f"ratio {ratio:.2f} (target <= {TARGET}) {'OK' if ratio <= TARGET else 'OVER TARGET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
