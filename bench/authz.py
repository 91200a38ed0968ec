"""Data-plane throughput: ``/api/v1/authz`` against a bare ``/healthz`` on the same server.

Targets (issue 11): authz req/s at least 0.8 of ``/healthz`` on the same server
process with a p99 of at most 5 ms on SQLite; at least 0.6 and 10 ms on
PostgreSQL (wrk, 16 connections, loopback; 10k users, 100 apps, 50k grants,
1k keys).

Per backend the script builds a fresh database (a SQLite file in a temporary
directory, or a new PostgreSQL database that is dropped afterwards), runs
``pepyhat init`` and ``pepyhat demo-data --users 10000 --apps 100``, tops the
data up to 50k grants and 1k keys, starts ``pepyhat serve`` on a free loopback
port, creates an app key through the admin API (no rate limit, so no 429s),
picks an active member of ``crm`` with live roles, then runs ``wrk`` against
both endpoints, alternating (A B B A ...) so drift hits both alike.  Any
non-2xx response or socket error fails the run.  Medians of req/s, p50, p99 and
the server's CPU per request (from ``/proc``), their ratio, are printed; a JSON
summary goes to ``bench/results/``.  With ``--workers N`` (default 2; 0: off) a
second server of N worker processes on the same database answers authz too, in
the same alternation, and its throughput is reported against the one worker's.
The last lines are ``RESULT authz ...`` lines, one per backend.

    python bench/authz.py [--backend sqlite|postgres|both] [--duration 10] [--rounds 2] [--workers 2]

Needs ``wrk`` (``apt-get install -y wrk``) and, for PostgreSQL, a server that
``--postgres-url`` (default $PEPYHAT_TEST_POSTGRES_URL or
postgresql://postgres@127.0.0.1:5432/test) may CREATE DATABASE on.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TARGETS = {"sqlite": (0.8, 5.0), "postgres": (0.6, 10.0)}  # (authz/healthz req/s at least, authz p99 ms at most)
USERS, APPS, GRANTS, KEYS = 10_000, 100, 50_000, 1_000
APP = "crm"
DEFAULT_PG = os.environ.get("PEPYHAT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class BenchError(RuntimeError):
    pass


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def pepyhat_command() -> list[str]:
    script = Path(sys.executable).with_name("pepyhat")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pepyhat.cli"]


def run_cli(*args: str) -> str:
    result = subprocess.run([*pepyhat_command(), *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise BenchError(f"pepyhat {args[0]} failed ({result.returncode}): {result.stderr.strip()}")
    if result.stderr.strip():
        say(f"  {result.stderr.strip().splitlines()[-1]}")
    return result.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- databases -----------------------------------------------------------------


class Database:
    """A fresh database for one backend; ``close()`` removes it."""

    def __init__(self, backend: str, postgres_url: str) -> None:
        self.backend = backend
        self._tmp = tempfile.TemporaryDirectory(prefix="pepyhat-bench-")
        self._drop = None
        if backend == "sqlite":
            self.url = f"sqlite:///{Path(self._tmp.name) / 'bench.db'}"
        else:
            import psycopg
            from sqlalchemy.engine import make_url

            name = f"pepyhat_bench_{uuid.uuid4().hex[:12]}"
            admin = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
            try:
                with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'CREATE DATABASE "{name}"')
            except psycopg.Error as exc:
                self._tmp.cleanup()
                raise BenchError(f"cannot create a PostgreSQL database via {postgres_url}: {exc}") from None

            def drop() -> None:
                with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

            self._drop = drop
            self.name = name
            self.url = make_url(postgres_url).set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)

    @property
    def tmpdir(self) -> Path:
        return Path(self._tmp.name)

    def close(self) -> None:
        try:
            if self._drop is not None:
                self._drop()
                say(f"  dropped database {self.name}")
        finally:
            self._tmp.cleanup()


def top_up(url: str, *, grants: int, keys_total: int, seed: int = 11) -> dict[str, int]:
    """Add grants and app keys (straight into the store) until the target counts are reached."""
    from sqlalchemy import func, insert, select

    from pepyhat import keys
    from pepyhat.store.db import make_engine
    from pepyhat.store.tables import App, Grant, Key, Role, User

    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            users = conn.execute(select(User.id)).scalars().all()
            roles = conn.execute(select(Role.id)).scalars().all()
            taken = {tuple(row) for row in conn.execute(select(Grant.user_id, Grant.role_id))}
            rows = []
            while len(taken) < grants:
                pair = (rng.choice(users), rng.choice(roles))
                if pair not in taken:
                    taken.add(pair)
                    rows.append(dict(user_id=pair[0], role_id=pair[1], granted_by="bench", granted_at=now, expires_at=None))
            for start in range(0, len(rows), 10_000):
                conn.execute(insert(Grant), rows[start:start + 10_000])

            apps = [tuple(row) for row in conn.execute(select(App.id, App.slug))]
            have = conn.execute(select(func.count()).select_from(Key)).scalar_one()
            key_rows = []
            for n in range(max(0, keys_total - have)):
                app_id, slug = rng.choice(apps)
                plaintext = keys.mint("app")
                key_rows.append(
                    dict(
                        id=keys.new_id(), name=f"{slug}-bench-{n}", kind="app", app_id=app_id, app_slug=slug,
                        hash=keys.digest(plaintext), start=keys.start_of(plaintext),
                        scopes=[{"path": f"apps/{slug}/authz/**", "operations": ["read"]}], capabilities=[],
                        rate_limit_per_minute=None, created_at=now, created_by="bench",
                    )
                )
            if key_rows:
                conn.execute(insert(Key), key_rows)
        with engine.connect() as conn:
            return {
                "users": conn.execute(select(func.count()).select_from(User)).scalar_one(),
                "apps": conn.execute(select(func.count()).select_from(App)).scalar_one(),
                "grants": conn.execute(select(func.count()).select_from(Grant)).scalar_one(),
                "keys": conn.execute(select(func.count()).select_from(Key)).scalar_one(),
            }
    finally:
        engine.dispose()


# -- the server ----------------------------------------------------------------


class Server:
    """``pepyhat serve`` as a child process; stopped by its own pid."""

    def __init__(self, url: str, port: int, log_path: Path, log_level: str | None, workers: int = 1) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        command = [*pepyhat_command(), "serve", "--db", url, "--host", "127.0.0.1", "--port", str(port)]
        if workers > 1:
            command += ["--workers", str(workers)]
        if log_level:
            command += ["--log-level", log_level]
        env = {k: v for k, v in os.environ.items() if k != "PEPYHAT_REDIS_URL"}  # in-memory limiter, as by default
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"pepyhat serve exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise BenchError(f"pepyhat serve not healthy after {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._log.close()


def prepare_client(server: Server, token: str) -> tuple[str, str, dict]:
    """An app key (no rate limit) and an active member of APP with live roles."""
    admin = httpx.Client(base_url=server.base + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    with admin:
        response = admin.post("/keys", json={"name": "bench-authz", "app": APP})
        if response.status_code != 201:
            raise BenchError(f"POST /keys: {response.status_code} {response.text}")
        created = response.json()
        if created["rate_limit_per_minute"] is not None:
            raise BenchError("the bench key has a rate limit; 429s would inflate the numbers")
        plaintext = created["key"]
        members = admin.get(f"/apps/{APP}/members", params={"limit": 500}).json()["data"]
    now = datetime.now(timezone.utc)

    def live(member: dict) -> int:
        return sum(
            1 for g in member["grants"]
            if g["expires_at"] is None or datetime.fromisoformat(g["expires_at"].replace("Z", "+00:00")) > now
        )

    candidates = sorted((m for m in members if m["active"] and live(m)), key=lambda m: (-live(m), m["email"]))
    if not candidates:
        raise BenchError(f"no active member of {APP} with live grants")
    email = candidates[0]["email"]
    check = httpx.get(f"{server.base}/api/v1/authz/{email}", params={"app": APP}, headers={"X-API-Key": plaintext}, timeout=10)
    body = check.json()
    if check.status_code != 200 or not (body["found"] and body["active"] and body["roles"]):
        raise BenchError(f"authz sanity check failed: {check.status_code} {body}")
    if any(h.lower().startswith("x-ratelimit") for h in check.headers):
        raise BenchError("authz answered with X-RateLimit headers: the key is rate limited")
    return plaintext, email, body


# -- wrk -----------------------------------------------------------------------


@dataclass
class WrkResult:
    endpoint: str
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int = 0
    socket_errors: dict = field(default_factory=dict)
    server_cpu_us_per_request: float | None = None
    database_cpu_us_per_request: float | None = None  # PostgreSQL: its backends serving the bench database


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def parse_wrk(endpoint: str, output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (rps and total and p50 and p99):
        raise BenchError(f"cannot parse wrk output:\n{output}")
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result = WrkResult(
        endpoint=endpoint,
        requests_per_second=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        requests=int(total.group(1)),
        non_2xx=int(non2xx.group(1)) if non2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()))) if errors else {},
    )
    return result


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a process and its live descendants (uvicorn's workers) from /proc; None off Linux."""
    fields = _stat(pid)
    if fields is None:
        return None
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (child := _stat(int(entry.name))) is not None:
            parents.setdefault(int(child[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if (f := _stat(current)) is not None:
            total += int(f[11]) + int(f[12])
        todo.extend(parents.get(current, ()))
    return total / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds(name: str | None) -> float | None:
    """CPU of the PostgreSQL backends now connected to database ``name`` (their titles name it); None for SQLite."""
    if not name:
        return None
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres:") and f" {name} " in title and (fields := _stat(int(entry.name))):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(url: str, endpoint: str, *, threads: int, connections: int, duration: float, headers: dict[str, str],
            server_pid: int | None = None, database: str | None = None) -> WrkResult:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(url)
    cpu_before = cpu_seconds(server_pid) if server_pid else None
    db_before = database_cpu_seconds(database)
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    cpu_after = cpu_seconds(server_pid) if server_pid else None
    db_after = database_cpu_seconds(database)
    if result.returncode != 0:
        raise BenchError(f"wrk failed ({result.returncode}): {result.stderr.strip()}")
    parsed = parse_wrk(endpoint, result.stdout)
    if cpu_before is not None and cpu_after is not None and parsed.requests:
        # Includes the last in-flight requests and the server's idle overhead: a rough but steady figure.
        parsed.server_cpu_us_per_request = (cpu_after - cpu_before) / parsed.requests * 1e6
    if db_before is not None and db_after is not None and parsed.requests:
        # Backends that closed during the run are missed: the pool keeps its connections, so none do.
        parsed.database_cpu_us_per_request = (db_after - db_before) / parsed.requests * 1e6
    if parsed.non_2xx:
        raise BenchError(f"{endpoint}: wrk saw {parsed.non_2xx} non-2xx responses out of {parsed.requests}; numbers are void")
    if any(parsed.socket_errors.values()):
        raise BenchError(f"{endpoint}: wrk saw socket errors {parsed.socket_errors}; numbers are void")
    return parsed


# -- one backend ---------------------------------------------------------------


def median_of(runs: list[WrkResult], attribute: str) -> float | None:
    values = [getattr(r, attribute) for r in runs]
    return statistics.median(values) if values and None not in values else None


def prepare_data(backend: str, args) -> tuple[Database, str, dict]:
    """A fresh database of the target's shape; the init token."""
    say(f"[{backend}] fresh database, init, demo-data --users {USERS} --apps {APPS}")
    db = Database(backend, args.postgres_url)
    try:
        token = run_cli("init", "--db", db.url)
        if not token.startswith("pha_"):
            raise BenchError(f"pepyhat init printed no token: {token!r}")
        run_cli("demo-data", "--db", db.url, "--users", str(USERS), "--apps", str(APPS))
        counts = top_up(db.url, grants=GRANTS, keys_total=KEYS - 1)  # the bench key makes KEYS
        counts["keys"] += 1
    except BaseException:
        db.close()
        raise
    say(f"[{backend}] data: {counts}")
    return db, token, counts


def bench_backend(backend: str, args) -> dict:
    db, token, counts = prepare_data(backend, args)
    servers: list[Server] = []
    try:
        server = Server(db.url, free_port(), db.tmpdir / "serve.log", args.log_level)
        servers.append(server)
        server.wait_ready()
        plaintext, email, body = prepare_client(server, token)
        say(f"[{backend}] server {server.base} (pid {server.process.pid}); user {email}: roles {body['roles']}, "
            f"{len(body['permissions'])} permissions")
        path = f"/api/v1/authz/{email}?app={APP}"
        endpoints = {
            "healthz": (server, f"{server.base}/healthz", {}),
            "authz": (server, f"{server.base}{path}", {"X-API-Key": plaintext}),
        }
        if args.workers > 1:
            many = Server(db.url, free_port(), db.tmpdir / "serve-workers.log", args.log_level, workers=args.workers)
            servers.append(many)
            many.wait_ready()
            endpoints[f"authz_{args.workers}w"] = (many, f"{many.base}{path}", {"X-API-Key": plaintext})
            say(f"[{backend}] second server {many.base}, {args.workers} workers (pid {many.process.pid})")
        wrk = dict(threads=args.threads, connections=args.connections, database=getattr(db, "name", None))
        for name, (srv, url, headers) in endpoints.items():  # warm caches, pools and the JIT-less interpreter alike
            run_wrk(url, name, duration=args.warmup, headers=headers, server_pid=srv.process.pid, **wrk)
        runs: dict[str, list[WrkResult]] = {name: [] for name in endpoints}
        for round_ in range(args.rounds):
            order = list(endpoints) if round_ % 2 == 0 else list(reversed(endpoints))
            for name in order:
                srv, url, headers = endpoints[name]
                r = run_wrk(url, name, duration=args.duration, headers=headers, server_pid=srv.process.pid, **wrk)
                runs[name].append(r)
                cpu = f"  server CPU {r.server_cpu_us_per_request:5.0f} us/req" if r.server_cpu_us_per_request else ""
                if r.database_cpu_us_per_request is not None:
                    cpu += f", database {r.database_cpu_us_per_request:4.0f}"
                say(f"[{backend}] round {round_ + 1} {name:9s} {r.requests_per_second:8.0f} req/s  "
                    f"p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms{cpu}")
        for srv in servers:
            if srv.process.poll() is not None:
                raise BenchError(f"a server died during the run:\n{srv.tail()}")
    finally:
        for srv in servers:
            srv.stop()
        db.close()

    summary = {
        name: {
            "rps": median_of(rs, "requests_per_second"),
            "p50_ms": median_of(rs, "p50_ms"),
            "p99_ms": median_of(rs, "p99_ms"),
            "cpu_us": median_of(rs, "server_cpu_us_per_request"),
            "database_cpu_us": median_of(rs, "database_cpu_us_per_request"),
        }
        for name, rs in runs.items()
    }
    health, authz = summary["healthz"], summary["authz"]
    result = {
        "backend": backend,
        "data": counts,
        "summary": summary,
        "ratio": authz["rps"] / health["rps"],
        "round_ratios": [a.requests_per_second / h.requests_per_second for a, h in zip(runs["authz"], runs["healthz"])],
        "runs": {name: [asdict(r) for r in rs] for name, rs in runs.items()},
    }
    if args.workers > 1:
        many = summary[f"authz_{args.workers}w"]
        result["workers"] = {"n": args.workers, "rps": many["rps"], "vs_one": many["rps"] / authz["rps"]}
    return result


def report(results: list[dict], args) -> None:
    print(f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s, {args.rounds} alternating rounds, medians; "
          f"{USERS} users, {APPS} apps, {GRANTS} grants, {KEYS} keys; load average {os.getloadavg()[0]:.2f}")
    for r in results:
        for name, s in r["summary"].items():
            cpu = f"{s['cpu_us']:5.0f} us/req" if s["cpu_us"] else "n/a"
            if s["database_cpu_us"] is not None:
                cpu += f" + database {s['database_cpu_us']:4.0f} us/req"
            print(f"{r['backend']:8s} {name:9s} {s['rps']:7.0f} req/s  p50 {s['p50_ms']:6.2f} ms  "
                  f"p99 {s['p99_ms']:6.2f} ms  server CPU {cpu}")
        h, a = r["summary"]["healthz"], r["summary"]["authz"]
        cpu_ratio = f", CPU healthz/authz {h['cpu_us'] / a['cpu_us']:.2f}" if h["cpu_us"] and a["cpu_us"] else ""
        print(f"{'':8s} ratio authz/healthz {r['ratio']:.2f} (rounds {', '.join(f'{x:.2f}' for x in r['round_ratios'])})"
              f"{cpu_ratio}")
        if "workers" in r:
            w = r["workers"]
            print(f"{'':8s} --workers {w['n']}: authz {w['rps']:.0f} req/s, {w['vs_one']:.2f}x one worker "
                  f"(wrk shares the {os.cpu_count()} cores)")
    for r in results:
        ratio_target, p99_target = TARGETS[r["backend"]]
        p99 = r["summary"]["authz"]["p99_ms"]
        good = r["ratio"] >= ratio_target and p99 <= p99_target
        print(f"RESULT authz {r['backend']}_ratio={r['ratio']:.2f},p99_ms={p99:.2f} "
              f"target=ratio>={ratio_target:g},p99_ms<={p99_target:g} {'PASS' if good else 'MISS'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run (default 10)")
    parser.add_argument("--rounds", type=int, default=2, help="timed runs per endpoint, alternating (default 2)")
    parser.add_argument("--warmup", type=float, default=3.0, help="untimed wrk seconds per endpoint first (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="also measure a server of N workers (default 2; 0 or 1: off)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--postgres-url", default=DEFAULT_PG, help="a PostgreSQL URL allowed to CREATE DATABASE")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], default=None,
                        help="passed to pepyhat serve (default: its default, info, which writes an access log line per request)")
    parser.add_argument("--json", type=Path, default=RESULTS / "authz.json", help="where to write the summary")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("authz: wrk is not installed (apt-get install -y wrk); nothing measured", file=sys.stderr)
        print("RESULT authz ratio=none target=measured MISS")
        return 1

    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    try:
        for backend in backends:
            results.append(bench_backend(backend, args))
    except BenchError as exc:
        print(f"authz: FAILED: {exc}", file=sys.stderr)
        print("RESULT authz ratio=none target=measured MISS")
        return 1
    except KeyboardInterrupt:
        return 130

    args.json.parent.mkdir(parents=True, exist_ok=True)
    summary = {"when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv[1:],
               "cpus": os.cpu_count(), "load_average": os.getloadavg(), "results": results}
    args.json.write_text(json.dumps(summary, indent=2) + "\n")
    say(f"summary written to {args.json}")
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
