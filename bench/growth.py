"""How cost grows with work: the data plane and the admin lists at 10k, 100k and 1M users.

Target (issue 11): flat latency, at most 1.5x from the smallest size to the
largest, for the data plane (``/api/v1/authz``, wrk -t2 -c16, p50 and p99) and
for the admin lists a dashboard opens and filters (``GET /api/v1/apps``, the
first screen, ``GET /api/v1/users``, ``GET /api/v1/apps/crm/members``, with and
without ``q``); and ``pepyhat
demo-data --users 1000000`` under 2 minutes on SQLite.

Per backend and size: a fresh database, ``pepyhat init``, ``pepyhat demo-data
--users N --apps 100`` (timed: the whole command, wall clock; its grants scale
with the users, about 1.5 a user), ``pepyhat serve`` on a free loopback port and
an app key of ``crm`` without a rate limit.  Every size's server stays up, so
the timed rounds alternate between the sizes (and each size's own ``/healthz``,
the noise reference: its ratio to authz is printed too).  The admin lists are
timed one request at a time over one keep-alive connection (median and p90 of
``--requests``).  The last line is ``RESULT growth ...``: the worst ratio of
largest to smallest size over every figure, and the SQLite demo-data time.

    python bench/growth.py [--backend sqlite|postgres|both] [--sizes 10000,100000,1000000] [--duration 5]
    python bench/growth.py --sizes 10000,100000 --backend sqlite       # a quick run

Needs ``wrk`` and, for PostgreSQL, a server where ``--postgres-url`` may CREATE DATABASE.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from authz import (  # noqa: E402  (bench/authz.py: the same database, server and wrk helpers)
    APP, DEFAULT_PG, RESULTS, BenchError, Database, Server, free_port, pepyhat_command, prepare_client, run_cli,
    run_wrk, say,
)

TARGET_GROWTH = 1.5
TARGET_DEMO_1M_S = 120.0
APPS = 100


@dataclass
class Size:
    backend: str
    users: int
    db: Database
    server: Server
    demo_seconds: float
    key: str = ""
    email: str = ""
    token: str = ""
    wrk: dict = field(default_factory=lambda: {"authz": [], "healthz": []})
    lists: dict = field(default_factory=dict)


def timed_demo(url: str, users: int) -> float:
    import subprocess

    started = time.perf_counter()
    result = subprocess.run([*pepyhat_command(), "demo-data", "--db", url, "--users", str(users), "--apps", str(APPS)],
                            capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise BenchError(f"demo-data --users {users} failed: {result.stderr.strip()[-500:]}")
    return elapsed


def prepare(backend: str, users: int, args) -> Size:
    db = Database(backend, args.postgres_url)
    try:
        token = run_cli("init", "--db", db.url)
        seconds = timed_demo(db.url, users)
        say(f"[{backend} {users:>7}] demo-data --users {users}: {seconds:.1f} s")
        server = Server(db.url, free_port(), db.tmpdir / "serve.log", args.log_level)
        server.wait_ready(timeout=300)
    except BaseException:
        db.close()
        raise
    size = Size(backend, users, db, server, seconds, token=token)
    size.key, size.email, _ = prepare_client(server, token)
    return size


def list_requests(size: Size) -> dict[str, tuple[str, dict]]:
    """The admin reads a dashboard makes: plain pages and filters, common, rare and matching nothing."""
    local = size.email.split("@")[0]
    family = local.split(".")[-1].rstrip("0123456789") or local
    return {
        "apps": ("/apps", {"limit": 100}),  # the first screen: every app with its counts of roles, members, keys
        "users": ("/users", {"limit": 50}),
        "users?q=common": ("/users", {"q": family, "limit": 50}),
        "users?q=rare": ("/users", {"q": local, "limit": 50}),
        "users?q=none": ("/users", {"q": "zqxjv", "limit": 50}),
        "members": (f"/apps/{APP}/members", {"limit": 50}),
        "members?q=common": (f"/apps/{APP}/members", {"q": family, "limit": 50}),
        "members?q=none": (f"/apps/{APP}/members", {"q": "zqxjv", "limit": 50}),
    }


def time_lists(size: Size, requests: int) -> None:
    headers = {"Authorization": f"Bearer {size.token}"}
    with httpx.Client(base_url=size.server.base + "/api/v1", headers=headers, timeout=60) as client:
        for name, (path, params) in list_requests(size).items():
            times = []
            for n in range(requests + 2):
                started = time.perf_counter()
                response = client.get(path, params=params)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200:
                    raise BenchError(f"GET {path} {params}: {response.status_code} {response.text[:200]}")
                if n >= 2:  # two warm-ups
                    times.append(elapsed)
            size.lists.setdefault(name, []).extend(times)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]


def run(args) -> list[Size]:
    sizes: list[Size] = []
    try:
        for backend in (["sqlite", "postgres"] if args.backend == "both" else [args.backend]):
            for users in args.sizes:
                sizes.append(prepare(backend, users, args))
        wrk = dict(threads=2, connections=16)
        for s in sizes:  # warm-up
            run_wrk(f"{s.server.base}/api/v1/authz/{s.email}?app={APP}", "authz", duration=2, headers={"X-API-Key": s.key},
                    server_pid=s.server.process.pid, **wrk)
        for round_ in range(args.rounds):
            for s in sizes if round_ % 2 == 0 else list(reversed(sizes)):
                for name in ("authz", "healthz") if round_ % 2 == 0 else ("healthz", "authz"):
                    if name == "authz":
                        url, headers = f"{s.server.base}/api/v1/authz/{s.email}?app={APP}", {"X-API-Key": s.key}
                    else:
                        url, headers = f"{s.server.base}/healthz", {}
                    r = run_wrk(url, name, duration=args.duration, headers=headers, server_pid=s.server.process.pid, **wrk)
                    s.wrk[name].append(r)
                    say(f"[{s.backend} {s.users:>7}] round {round_ + 1} {name:7s} {r.requests_per_second:7.0f} req/s  "
                        f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms")
                time_lists(s, args.requests)
        for s in sizes:
            if s.server.process.poll() is not None:
                raise BenchError(f"a server died during the run:\n{s.server.tail()}")
    finally:
        for s in sizes:
            s.server.stop()
            s.db.close()
    return sizes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="users per size, comma-separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--requests", type=int, default=15, help="timed requests per admin list per round")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None)
    parser.add_argument("--json", type=Path, default=RESULTS / "growth.json")
    args = parser.parse_args()
    try:
        args.sizes = sorted(int(x) for x in args.sizes.split(","))
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas, e.g. 10000,100000")
    if len(args.sizes) < 2:
        parser.error("--sizes needs at least two sizes to compare")
    if shutil.which("wrk") is None:
        print("growth: wrk is not installed (apt-get install -y wrk); nothing measured", file=sys.stderr)
        print("RESULT growth worst=none target=measured MISS")
        return 1
    try:
        sizes = run(args)
    except BenchError as exc:
        print(f"growth: FAILED: {exc}", file=sys.stderr)
        print("RESULT growth worst=none target=measured MISS")
        return 1
    except KeyboardInterrupt:
        return 130

    table = []
    print(f"wrk -t2 -c16 -d{args.duration:g}s, {args.rounds} rounds alternating across sizes, medians; "
          f"admin lists: median / p90 of {args.requests * args.rounds} requests; load average {os.getloadavg()[0]:.2f}")
    for s in sizes:
        a, h = s.wrk["authz"], s.wrk["healthz"]
        row = {
            "backend": s.backend, "users": s.users, "demo_data_s": s.demo_seconds,
            "authz_p50_ms": statistics.median(r.p50_ms for r in a), "authz_p99_ms": statistics.median(r.p99_ms for r in a),
            "authz_rps": statistics.median(r.requests_per_second for r in a),
            "healthz_rps": statistics.median(r.requests_per_second for r in h),
            "lists": {name: {"median_ms": statistics.median(v), "p90_ms": p90(v)} for name, v in s.lists.items()},
        }
        table.append(row)
        lists = "  ".join(f"{name} {v['median_ms']:.1f}/{v['p90_ms']:.1f}" for name, v in row["lists"].items())
        print(f"{s.backend:8s} {s.users:>8} users  demo-data {s.demo_seconds:6.1f} s  authz p50 {row['authz_p50_ms']:5.2f} ms "
              f"p99 {row['authz_p99_ms']:6.2f} ms  {row['authz_rps']:6.0f} req/s ({row['authz_rps'] / row['healthz_rps']:.2f} of healthz)")
        print(f"{'':8s} {'':>8}        lists ms (median/p90): {lists}")

    worst = (0.0, "")
    for backend in dict.fromkeys(r["backend"] for r in table):
        rows = [r for r in table if r["backend"] == backend]
        small, large = rows[0], rows[-1]
        figures = {"authz_p50": ("authz_p50_ms",), "authz_p99": ("authz_p99_ms",)}
        growth = {name: large[key] / small[key] for name, (key,) in figures.items()}
        for name in small["lists"]:
            growth[name] = large["lists"][name]["median_ms"] / small["lists"][name]["median_ms"]
        print(f"{backend:8s} {large['users']} / {small['users']} users: "
              + ", ".join(f"{name} {g:.2f}x" for name, g in growth.items()))
        for name, g in growth.items():
            if g > worst[0]:
                worst = (g, f"{backend}:{name}")
    sqlite_largest = [r for r in table if r["backend"] == "sqlite"]
    demo = sqlite_largest[-1]["demo_data_s"] if sqlite_largest else None
    demo_ok = demo is None or sqlite_largest[-1]["users"] < 1_000_000 or demo < TARGET_DEMO_1M_S
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv[1:],
                                     "load_average": os.getloadavg(), "rows": table}, indent=2) + "\n")
    say(f"summary written to {args.json}")
    demo_figure = f",sqlite_demo_data_{sqlite_largest[-1]['users']}_s={demo:.1f}" if demo is not None else ""
    good = worst[0] <= TARGET_GROWTH and demo_ok
    print(f"RESULT growth worst={worst[0]:.2f}({worst[1]}){demo_figure} "
          f"target=growth<={TARGET_GROWTH:g},demo_data_1M_s<{TARGET_DEMO_1M_S:g} {'PASS' if good else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
