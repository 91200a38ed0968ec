"""From a pasted leaked key to the data plane refusing it: the on-call path, timed in tmux.

Subject: the dashboard (``pepyhat-tui --url``) in a real tmux pane against a real
``pepyhat serve``; each round mints an app key through the API, then the
operator's inputs: ``/`` on Keys, paste the key (bracketed paste), ``Enter``,
``d``, ``y`` (four keys and one paste).  The clock starts at the paste and stops
when ``GET /api/v1/authz`` with that key answers 403 ``key_revoked``.

Baseline, in the same run and alternating with the subject: the same revoke
through the admin API (lookup, then ``DELETE``), from the first request to the
data plane's refusal: the floor set by the service itself.  Printed: both
medians over the rounds, their ratio, and a last ``RESULT`` line.

    python bench/leaked_key.py [--rounds 5]

Needs tmux.  Waits poll the pane every 20 ms, so figures carry about that much
resolution.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
POLL = 0.02


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pepyhat.cli", *args], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"pepyhat {args[0]} failed: {done.stderr.strip()}")
    return done.stdout.strip()


class Pane:
    def __init__(self, command: list[str]) -> None:
        self.socket = f"pepyhat-bench-{uuid.uuid4().hex[:8]}"
        self.env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
        self.env.update(LANG="C.UTF-8", LC_ALL="C.UTF-8", TERM="xterm-256color")
        self.tmux("new-session", "-d", "-s", "b", "-x", "120", "-y", "36", " ".join(command))

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args], capture_output=True, text=True,
                              env=self.env, check=True, timeout=10).stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.tmux("send-keys", "-t", "b", key)

    def paste(self, text: str) -> None:
        self.tmux("set-buffer", "-b", "p", text)
        self.tmux("paste-buffer", "-p", "-d", "-b", "p", "-t", "b")

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.tmux("capture-pane", "-p", "-t", "b"):
            if time.monotonic() > deadline:
                raise SystemExit(f"not on screen within {timeout} s: {text!r}\n{self.tmux('capture-pane', '-p', '-t', 'b')}")
            time.sleep(POLL)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env)


def refused(url: str, key: str) -> bool:
    answer = httpx.get(f"{url}/api/v1/authz/alice@example.com", params={"app": "crm"}, headers={"X-API-Key": key})
    return answer.status_code == 403 and answer.json()["error"]["code"] == "key_revoked"


def until_refused(url: str, key: str, started: float) -> float:
    while not refused(url, key):
        if time.monotonic() - started > 30:
            raise SystemExit("the key was not refused within 30 s")
        time.sleep(POLL)
    return time.monotonic() - started


def by_dashboard(pane: Pane, api: httpx.Client, url: str, n: int) -> float:
    key = api.post("/api/v1/keys", json={"name": f"bench-leak-{n}", "app": "crm"}).raise_for_status().json()
    pane.keys("/")
    pane.wait_for("filter…")
    started = time.monotonic()
    pane.paste(key["key"])
    pane.wait_for(f"looked up: {key['start']}")
    pane.keys("Enter")
    pane.wait_for("Revoke (d)")
    pane.keys("d")
    pane.wait_for(f"Revoke bench-leak-{n}?")
    pane.keys("y")
    elapsed = until_refused(url, key["key"], started)
    pane.wait_for(f"Revoked bench-leak-{n}")
    pane.keys("Escape")  # the filter's lookup: back to every key
    return elapsed


def by_api(api: httpx.Client, url: str, n: int) -> float:
    key = api.post("/api/v1/keys", json={"name": f"bench-api-{n}", "app": "crm"}).raise_for_status().json()
    started = time.monotonic()
    [found] = api.post("/api/v1/keys/lookup", json={"key": key["key"]}).raise_for_status().json()["data"]
    api.delete(f"/api/v1/keys/{found['id']}", params={"reason": "leaked"}).raise_for_status()
    return until_refused(url, key["key"], started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("needs tmux (apt-get install -y tmux)")
    with tempfile.TemporaryDirectory(prefix="pepyhat-bench-") as folder:
        db = f"sqlite:///{Path(folder) / 'pepyhat.db'}"
        token = cli("init", "--db", db)
        cli("demo-data", "--db", db)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = open(Path(folder) / "serve.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "pepyhat.cli", "serve", "--db", db, "--port", str(port)],
                                  stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        pane = None
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("pepyhat serve did not become ready")
                time.sleep(0.05)
            tui = Path(sys.executable).with_name("pepyhat-tui")
            pane = Pane([str(tui), "--url", url, "--token", token])
            pane.wait_for("billing")
            pane.keys(":")
            pane.wait_for("apps | users | keys")
            pane.tmux("send-keys", "-t", "b", "-l", "keys")
            pane.keys("Enter")
            pane.wait_for("crm-production")
            dashboard, floor = [], []
            with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=10) as api:
                for n in range(args.rounds):
                    # Alternate which goes first, so drift on the shared machine hits both alike.
                    order = (lambda: dashboard.append(by_dashboard(pane, api, url, n)),
                             lambda: floor.append(by_api(api, url, n)))
                    for run in order if n % 2 == 0 else reversed(order):
                        run()
                    say(f"round {n + 1}: dashboard {dashboard[-1]:.2f} s, API {floor[-1] * 1000:.0f} ms")
        finally:
            if pane is not None:
                pane.close()
            server.terminate()
            server.wait(timeout=10)
            log.close()
    subject, base = statistics.median(dashboard), statistics.median(floor)
    print("inputs: / , paste, Enter, d, y  (4 keys and a paste)")
    print(f"paste -> refused, dashboard in tmux: median {subject:.2f} s over {args.rounds} "
          f"(min {min(dashboard):.2f}, max {max(dashboard):.2f})")
    print(f"lookup + DELETE -> refused, admin API: median {base * 1000:.0f} ms")
    print(f"ratio dashboard / API: {subject / base:.1f}")
    print(f"RESULT leaked_key seconds={subject:.2f} target=none INFO")


if __name__ == "__main__":
    main()
