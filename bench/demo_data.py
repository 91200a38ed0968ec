"""Demo data at scale: ``pepyhat demo-data --users 100000`` on a fresh SQLite file.

Requirement: 100k users load "well under a minute" on SQLite.  Each round times,
as subprocesses on fresh files in one temporary directory:

- ``pepyhat demo-data --users 100000`` (the subject, wall clock, start-up and
  migration included);
- ``pepyhat demo-data --users 1000`` (baseline: the same command's fixed costs,
  interpreter, imports and Alembic migration);

and, in this process, a raw ``sqlite3`` ``executemany`` of exactly as many user
and grant rows as the subject wrote, into the same migrated schema (same
indexes, constraints and pragmas), one transaction (baseline: the storage
floor).  Rounds rotate the order so drift hits all three alike; medians and
ratios are printed, and a JSON summary goes to ``bench/results/``.

    python bench/demo_data.py [--users 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LIMIT_SECONDS = 60.0  # "well under a minute": we flag anything over half of it
SUMMARY = re.compile(r"loaded in ([\d.]+)s: (\d+) apps, (\d+) roles, (\d+) users, (\d+) grants, (\d+) keys")


class BenchError(RuntimeError):
    pass


def pepyhat_command() -> list[str]:
    script = Path(sys.executable).with_name("pepyhat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pepyhat.cli"]


def demo_data(path: Path, users: int) -> dict:
    """Wall seconds of ``pepyhat demo-data`` on a fresh file, and what it reported."""
    command = [*pepyhat_command(), "demo-data", "--db", f"sqlite:///{path}", "--users", str(users)]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise BenchError(f"{' '.join(command[1:])} failed ({result.returncode}): {result.stderr.strip()}")
    match = SUMMARY.search(result.stderr)
    if match is None:
        raise BenchError(f"cannot parse demo-data output: {result.stderr.strip()}")
    loaded, apps, roles, n_users, grants, keys = match.groups()
    if int(n_users) != users:
        raise BenchError(f"asked for {users} users, demo-data reports {n_users}")
    return {"wall": wall, "generate": float(loaded), "users": int(n_users), "grants": int(grants), "roles": int(roles)}


def raw_insert(path: Path, users: int, grants: int, roles: int, seed: int = 3) -> float:
    """Seconds for a raw sqlite3 executemany of ``users`` users and ``grants`` grants (schema migrated first, untimed)."""
    from pepyhat.store.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()

    rng = random.Random(seed)
    fmt = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    stamp = now.strftime(fmt)
    user_rows = [(i, f"user{i}@example.com", f"User {i}", True, stamp, stamp) for i in range(1, users + 1)]
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < grants:
        pairs.add((rng.randint(1, users), rng.randint(1, roles)))
    later = (now + timedelta(days=30)).strftime(fmt)
    grant_rows = [(u, r, "bench", stamp, later if (u + r) % 10 == 0 else None) for u, r in sorted(pairs)]

    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO apps (id, slug, name, description, created_at, updated_at) VALUES (1, 'raw', 'Raw', '', ?, ?)", (stamp, stamp))
    conn.executemany(
        "INSERT INTO roles (id, app_id, slug, name, description, created_at, updated_at) VALUES (?, 1, ?, ?, '', ?, ?)",
        [(r, f"role-{r}", f"Role {r}", stamp, stamp) for r in range(1, roles + 1)],
    )
    conn.execute("COMMIT")
    started = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO users (id, email, name, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)", user_rows)
    conn.executemany("INSERT INTO grants (user_id, role_id, granted_by, granted_at, expires_at) VALUES (?, ?, ?, ?, ?)", grant_rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--baseline-users", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=RESULTS / "demo_data.json", help="where to write the summary")
    args = parser.parse_args()

    subject: list[dict] = []
    small: list[dict] = []
    raw: list[float] = []
    with tempfile.TemporaryDirectory(prefix="pepyhat-bench-demo-") as tmp:
        tmpdir = Path(tmp)
        counts = None
        n = 0

        def fresh() -> Path:
            nonlocal n
            n += 1
            return tmpdir / f"run-{n}.db"

        try:
            # Untimed warm-up: file cache, bytecode, and the row counts the raw baseline must match.
            counts = demo_data(fresh(), args.users)
            steps = {
                "subject": lambda: subject.append(demo_data(fresh(), args.users)),
                "small": lambda: small.append(demo_data(fresh(), args.baseline_users)),
                "raw": lambda: raw.append(raw_insert(fresh(), counts["users"], counts["grants"], counts["roles"])),
            }
            order = list(steps)
            for run in range(args.runs):
                for name in order[run % 3:] + order[:run % 3]:
                    steps[name]()
                print(
                    f"run {run + 1}: demo-data {args.users} users {subject[-1]['wall']:.2f}s "
                    f"(generate+insert {subject[-1]['generate']:.2f}s), {args.baseline_users} users {small[-1]['wall']:.2f}s, "
                    f"raw sqlite3 insert {raw[-1]:.2f}s",
                    file=sys.stderr,
                )
                for path in tmpdir.glob("run-*"):
                    path.unlink()
        except BenchError as exc:
            print(f"demo_data: FAILED: {exc}", file=sys.stderr)
            return 1

    wall = statistics.median(r["wall"] for r in subject)
    loaded = statistics.median(r["generate"] for r in subject)
    small_wall = statistics.median(r["wall"] for r in small)
    floor = statistics.median(raw)
    print(f"pepyhat demo-data --users {args.users}: median {wall:6.2f} s wall over {args.runs} runs "
          f"({counts['users']} users, {counts['grants']} grants; {loaded:.2f} s of it generating and inserting)")
    print(f"baseline pepyhat demo-data --users {args.baseline_users}: median {small_wall:6.2f} s wall (start-up, imports, migration)")
    print(f"baseline raw sqlite3 executemany of the same {counts['users']} users + {counts['grants']} grants: median {floor:6.2f} s")
    print(f"ratio {args.users} / {args.baseline_users} users: {wall / small_wall:.2f}   "
          f"ratio generate+insert / raw insert: {loaded / floor:.2f}   ratio wall / raw insert: {wall / floor:.2f}")
    verdict = "OK (well under a minute)" if wall < LIMIT_SECONDS / 2 else ("under a minute, but not well under" if wall < LIMIT_SECONDS else "OVER A MINUTE")
    print(f"absolute: {wall:.2f} s for {args.users} users, limit {LIMIT_SECONDS:.0f} s: {verdict}")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv[1:],
        "cpus": os.cpu_count(), "load_average": os.getloadavg(), "counts": counts,
        "subject": subject, "baseline_small": small, "baseline_raw_seconds": raw,
        "median_wall": wall, "median_small_wall": small_wall, "median_raw": floor,
    }, indent=2) + "\n")
    print(f"summary written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
