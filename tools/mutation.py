"""Mutation testing of the policy core with mutmut (not part of .ci/run).

    pip install -e ".[test,mutation]"
    python tools/mutation.py            # mutate, test, report; exit 1 on a live mutant
    python tools/mutation.py --report   # report on the last run in mutants/

What is mutated and which tests judge it live in ``[tool.mutmut]`` of
pyproject.toml: scopes, keys, authz, api/policy, api/auth and the limiter,
against the service tests that exercise them (SQLite, and the Redis at
``PEPYHAT_TEST_REDIS_URL``).  mutmut runs, for each mutant, only the tests
that reached the mutated function, in a forked process: 870 mutants took
108 minutes on this project's 2-core machine (most of it api/auth, whose
mutants reach every HTTP test).  Results stay in mutants/ (gitignored); a
later run retests only what changed, and ``mutmut run NAME...`` one mutant.

A surviving mutant either shows a missing test (write it) or is equivalent
(the code behaves the same): an equivalent is listed in EQUIVALENT below, by
module, function and the mutated line, with the reason, and is not counted
against the score.  Any other survivor fails the run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTMUT = [sys.executable, "-m", "mutmut"]

# (module, function, mutated line stripped) -> why the mutant is equivalent.
EQUIVALENT: dict[tuple[str, str, str], str] = {
    ("pepyhat.scopes", "_explore", 'alphabet = {t for t in ta + tb if t not in ("XX*XX", "**")} | {_FRESH}'):
        "a `*` in the alphabet is one more segment no literal equals, like the fresh one",
    ("pepyhat.scopes", "_explore", 'alphabet = {t for t in ta + tb if t not in ("*", "XX**XX")} | {_FRESH}'):
        "a `**` in the alphabet is one more segment no literal equals, like the fresh one",
    ("pepyhat.keys", "is_start", 'return _START.fullmatch(value or "XXXX") is not None'):
        '"XXXX" is no key start either: an empty or None value is still refused',
    ("pepyhat.keys", "checksum", 'return _base62(zlib.crc32(body.encode("ASCII")), CHECKSUM_LEN)'):
        "codec names are case-insensitive",
    ("pepyhat.keys", "parse", 'match = _SHAPE.fullmatch(plaintext or "XXXX")'):
        '"XXXX" is no key either: an empty or None value is still refused',
    ("pepyhat.keys", "digest", 'return hashlib.sha256(plaintext.encode("ASCII")).hexdigest()'):
        "codec names are case-insensitive",
    ("pepyhat.ratelimit", "MemoryLimiter.hit", "if len(self._counts) >= self.MAX_KEYS:  # forget keys idle for a window rather than grow forever"):
        "pruning drops only keys that count nothing; one key earlier or later changes memory, no decision",
    ("pepyhat.ratelimit", "RedisLimiter.__init__", "url, socket_timeout=timeout, socket_connect_timeout=None, retry=Retry(NoBackoff(), 1)"):
        "redis-py takes socket_timeout as the connect timeout when that is None (redis 8)",
    ("pepyhat.ratelimit", "RedisLimiter._shared", 'now = "XXXX" if self._clock is None else repr(self._clock())'):
        "the script reads any non-number as 'use Redis TIME', as it reads the empty string",
    ("pepyhat.ratelimit", "RedisLimiter.close", "probe.join(timeout=None)"):
        "the probe ends within one socket timeout of close(): the join's bound is never reached",
    ("pepyhat.ratelimit", "RedisLimiter.close", "probe.join(timeout=6)"):
        "the probe ends within one socket timeout of close(): the join's bound is never reached",
    ("pepyhat.api.auth", "presented_key", 'header = request.headers.get("AUTHORIZATION")'):
        "Starlette's headers are case-insensitive",
    ("pepyhat.api.auth", "presented_key", 'api_key = request.headers.get("X-API-KEY")'):
        "Starlette's headers are case-insensitive",
    ("pepyhat.api.auth", "presented_key", 'headers={"cache-control": "no-store"},'):
        "header names are case-insensitive on the wire",
    ("pepyhat.api.auth", "presented_key", 'headers={"CACHE-CONTROL": "no-store"},'):
        "header names are case-insensitive on the wire",
    ("pepyhat.api.auth", "authenticate", 'if "AUTHORIZATION" not in request.headers and "x-api-key" in request.headers:'):
        "Starlette's headers are case-insensitive",
    ("pepyhat.api.auth", "authenticate", 'if "authorization" not in request.headers and "X-API-KEY" in request.headers:'):
        "Starlette's headers are case-insensitive",
    ("pepyhat.api.auth", "authenticate", "rt.usage.note(key.id, None)"):
        "usage.note takes the current time when given none: the same instant, microseconds later",
    ("pepyhat.api.auth", "authenticate", "rt.usage.note(key.id, )"):
        "usage.note takes the current time when given none: the same instant, microseconds later",
    ("pepyhat.api.auth", "json_body", 'if request.method not in ("POST", "XXPUTXX", "PATCH"):'):
        "no PUT or PATCH rule of POLICY names a body field (yet): their bodies are never read",
    ("pepyhat.api.auth", "json_body", 'if request.method not in ("POST", "put", "PATCH"):'):
        "no PUT or PATCH rule of POLICY names a body field (yet): their bodies are never read",
    ("pepyhat.api.auth", "json_body", 'if request.method not in ("POST", "PUT", "XXPATCHXX"):'):
        "no PUT or PATCH rule of POLICY names a body field (yet): their bodies are never read",
    ("pepyhat.api.auth", "json_body", 'if request.method not in ("POST", "PUT", "patch"):'):
        "no PUT or PATCH rule of POLICY names a body field (yet): their bodies are never read",
    ("pepyhat.api.auth", "_fill", 'if not (segment.startswith("{") or segment.endswith("}")):'):
        "no literal segment of a POLICY template starts or ends with a brace",
    ("pepyhat.api.auth", "_fill", "usable = None"):
        "None is falsy like False: the target is checked with 'some' either way",
}

_NAME = re.compile(r"^(?P<module>[\w.]+)\.x[_ǁ](?P<function>.+?)__mutmut_\d+$")


def run(max_children: int) -> None:
    env = {"PEPYHAT_TEST_REDIS_URL": "redis://127.0.0.1:6379/15", **os.environ}
    env.pop("PEPYHAT_TEST_POSTGRES_URL", None)  # the policy core is the same on both backends
    subprocess.run([*MUTMUT, "run", "--max-children", str(max_children)], cwd=ROOT, env=env, check=True)


def statuses() -> dict[str, str]:
    out = subprocess.run([*MUTMUT, "results", "--all", "true"], cwd=ROOT, capture_output=True, text=True, check=True)
    found = {}
    for line in out.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and _NAME.match(name):
            found[name] = status
    return found


def mutated_line(name: str) -> str:
    diff = subprocess.run([*MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    added = [line[1:].strip() for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    return added[0] if added else ""


def where(name: str) -> tuple[str, str]:
    match = _NAME.match(name)
    assert match, name
    return match["module"], match["function"].replace("ǁ", ".").strip(".")


def report() -> int:
    found = statuses()
    if not found:
        print("no results: run without --report first", file=sys.stderr)
        return 2
    table: dict[str, Counter] = defaultdict(Counter)
    live = []
    for name, status in sorted(found.items()):
        module, function = where(name)
        if status == "survived":
            line = mutated_line(name)
            reason = EQUIVALENT.get((module, function, line))
            if reason:
                status = "equivalent"
            else:
                live.append((name, line))
        table[module][status] += 1
    columns = ["killed", "timeout", "survived", "equivalent", "no tests", "not checked"]
    print(f"{'module':<24}{'mutants':>8}" + "".join(f"{c:>12}" for c in columns) + f"{'score':>8}")
    total = Counter()
    for module, counts in sorted(table.items()):
        total.update(counts)
        print(_row(module, counts, columns))
    print(_row("all", total, columns))
    for name, line in live:
        print(f"live: {name}: {line}")
    return 1 if live or total["no tests"] or total["not checked"] else 0


def _row(label: str, counts: Counter, columns: list[str]) -> str:
    # A timeout (an endless loop) or a crash of the tests counts as caught, as mutmut counts it.
    mutants = sum(counts.values())
    judged = mutants - counts["equivalent"] - counts["not checked"]
    caught = judged - counts["survived"] - counts["no tests"]
    shown = Counter(counts)
    shown["killed"] = caught - counts["timeout"]
    score = f"{100 * caught / judged:.1f}%" if judged else "-"
    return f"{label:<24}{mutants:>8}" + "".join(f"{shown[c]:>12}" for c in columns) + f"{score:>8}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="report on the last run only")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if not args.report:
        run(args.max_children)
    return report()


if __name__ == "__main__":
    sys.exit(main())
