"""The access matrix at 10k members: time to open, time to filter, peak memory.

``bench/filter.py`` now times the matrix's open and email filter with Users and
Keys, embedded and remote, at 100k users; this keeps what it does not: the
permission filter and the memory of the grid paged to its cap.

Subject: `:matrix crm` on an embedded service whose crm has ``--members``
members (``pepyhat demo-data --users N``, then every user given a crm role
straight in the store), driven inside the app with Textual's pilot, headless:

- open: from the Enter of `:matrix crm` to the first page of members painted;
- email filter: from the last keystroke of `/` + a name to the narrowed grid
  painted (the filter's debounce included);
- permission filter: from the Enter that picks a permission to the grid of its
  holders painted;
- paging: the cursor driven down until the grid holds its cap of rows
  (``MAX_ROWS``): memory with the most the matrix ever holds.

Baseline, in the same run and alternating with the subject: the same open and
the same email filter on the Users screen (a plain paged list of the same
service).  "Painted" is the table's page loaded and the screen's next refresh
done (``tests.tui.support.settle``).  Printed: medians, ratios, the process's
peak resident memory (embedded service included) and what the matrix adds,
and a last ``RESULT`` line.

    python bench/matrix.py [--members 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pepyhat_tui.app import PepyHatApp  # noqa: E402
from pepyhat_tui.config import Target  # noqa: E402
from pepyhat_tui.screens.matrix import MatrixScreen  # noqa: E402
from pepyhat_tui.widgets.paged_table import MAX_ROWS  # noqa: E402
from tests.tui.support import settle, until  # noqa: E402

APP = "crm"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Resident memory now (from /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(database: Path, members: int) -> int:
    """A demo org with ``members`` users, every one of them holding a crm role; returns crm's members."""
    done = subprocess.run(
        [sys.executable, "-m", "pepyhat.cli", "demo-data", "--db", f"sqlite:///{database}", "--users", str(members)],
        capture_output=True, text=True, cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"demo-data failed: {done.stderr.strip()}")
    with sqlite3.connect(database) as conn:
        (app_id,) = conn.execute("SELECT id FROM apps WHERE slug = ?", (APP,)).fetchone()
        (viewer,) = conn.execute("SELECT id FROM roles WHERE app_id = ? AND slug = 'viewer'", (app_id,)).fetchone()
        conn.execute(
            "INSERT INTO grants (user_id, role_id, granted_by, granted_at, expires_at) "
            "SELECT u.id, ?, 'bench', CURRENT_TIMESTAMP, NULL FROM users u WHERE NOT EXISTS "
            "(SELECT 1 FROM grants g JOIN roles r ON r.id = g.role_id WHERE g.user_id = u.id AND r.app_id = ?)",
            (viewer, app_id),
        )
        (count,) = conn.execute(
            "SELECT COUNT(DISTINCT g.user_id) FROM grants g JOIN roles r ON r.id = g.role_id WHERE r.app_id = ?",
            (app_id,),
        ).fetchone()
    return count


async def timed(pilot, keys: list[str], done) -> float:
    """Seconds from the last of ``keys`` to ``done()`` holding and the screen painted."""
    await pilot.press(*keys[:-1])
    started = time.perf_counter()
    await pilot.press(keys[-1])
    await until(pilot, done, "the grid", timeout=60)
    await settle(pilot)
    return time.perf_counter() - started


def loaded(pilot, query: str | None = None):
    def check() -> bool:
        screen = pilot.app.screen
        pane = getattr(screen, "pane", None)
        if pane is None:
            return False
        table = pane.table
        return table.loaded_once and not table.loading_page and table.query_text == query and table.row_count > 0

    return check


async def run(database: Path, rounds: int, name: str) -> dict:
    app = PepyHatApp(Target("embedded", "embedded", database=database))
    out: dict[str, list[float]] = {k: [] for k in ("matrix_open", "users_open", "matrix_filter", "users_filter", "permission")}
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.identity is not None, "signing in", timeout=120)
        await settle(pilot)
        before = rss_mb()
        for index in range(rounds):
            order = ("matrix", "users") if index % 2 == 0 else ("users", "matrix")
            for subject in order:
                destination = f"matrix {APP}" if subject == "matrix" else "users"
                out[f"{subject}_open"].append(await timed(pilot, ["colon", *destination, "enter"], loaded(pilot)))
                out[f"{subject}_filter"].append(
                    await timed(pilot, ["slash", *name], loaded(pilot, name))
                )
                await pilot.press("escape")  # the filter goes
                await until(pilot, loaded(pilot), "unfiltered", timeout=60)
                if subject == "matrix":
                    screen = pilot.app.screen
                    assert isinstance(screen, MatrixScreen)
                    started = time.perf_counter()
                    screen.pane.filter_permission("contacts.write")
                    await until(pilot, lambda: loaded(pilot)() and screen.pane.permission == "contacts.write", "holders", timeout=60)
                    await settle(pilot)
                    out["permission"].append(time.perf_counter() - started)
                    await pilot.press("escape")  # back from the matrix
                    await settle(pilot)
        # The most the matrix holds: page down until the cap.
        await pilot.press("colon", *f"matrix {APP}", "enter")
        await until(pilot, loaded(pilot), "the grid", timeout=60)
        table = pilot.app.screen.pane.table
        while len(table.items) < min(MAX_ROWS, 10**9) and table.has_more:
            table.move_cursor(row=table.row_count - 1)
            await until(pilot, lambda: not table.loading_page, "a page", timeout=60)
        await settle(pilot)
        held = len(table.items)
        after = rss_mb()
    return {**out, "rss_before": before, "rss_after": after, "held": held, "peak": peak_mb()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="pepyhat-bench-matrix-") as tmp:
        database = Path(tmp) / "bench.db"
        started = time.perf_counter()
        members = build(database, args.members)
        say(f"built: {members} members in {APP} ({time.perf_counter() - started:.1f}s)")
        with sqlite3.connect(database) as conn:
            # a name some users share: the filter narrows 10k rows to a few dozen
            (email,) = conn.execute("SELECT email FROM users ORDER BY id LIMIT 1 OFFSET 17").fetchone()
        name = email.split("@")[0].split(".")[0] + "." + email.split("@")[0].split(".")[1][:3]
        result = asyncio.run(run(database, args.rounds, name))
    med = {k: statistics.median(v) * 1000 for k, v in result.items() if isinstance(v, list)}
    print(f"members in {APP}: {members}; rounds: {args.rounds}; filter typed: {name!r}")
    print(f"open       matrix {med['matrix_open']:7.0f} ms   users {med['users_open']:7.0f} ms   "
          f"ratio {med['matrix_open'] / med['users_open']:.2f}")
    print(f"filter     matrix {med['matrix_filter']:7.0f} ms   users {med['users_filter']:7.0f} ms   "
          f"ratio {med['matrix_filter'] / med['users_filter']:.2f}   (the debounce included)")
    print(f"permission matrix {med['permission']:7.0f} ms   (contacts.write holders)")
    print(f"memory     peak RSS {result['peak']:.0f} MB (embedded service included); "
          f"{result['rss_after'] - result['rss_before']:+.0f} MB after the matrix paged to {result['held']} rows")
    ratio = med["matrix_open"] / med["users_open"]
    print(f"RESULT matrix open_ratio={ratio:.2f} open_ms={med['matrix_open']:.0f} filter_ms={med['matrix_filter']:.0f} "
          f"peak_rss_mb={result['peak']:.0f} target=open<=300ms,filter<=150ms,rss<=200MB "
          f"{'PASS' if med['matrix_open'] <= 300 and med['matrix_filter'] <= 150 and result['peak'] <= 200 else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
