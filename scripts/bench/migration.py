#!/usr/bin/env python3
"""Times a schema migration on a large database and proves it changes no read answer.

    scripts/bench/migration.py --old OLD_BINARY --new NEW_BINARY [--sessions 100000] [--observations 1000000]

1. OLD makes the dataset of `run.py reads` (gen_dataset.py: sessions, turns with journeys and
   intents, the 10/100/1,000-turn drill-down sessions), cached in .bench-data/ by OLD's schema
   version, and settled by its sweeper.
2. A copy is opened by NEW (`parley keys list --db COPY`, which migrates and nothing else):
   the wall time of that call is the migration's, reported with the file sizes.
3. OLD serves the original and NEW the migrated copy; every read endpoint below is asked of
   both, and the JSON answers must be equal (volatile fields, such as an analytics answer's
   age, are removed first). Differences are printed and make the exit status 1.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import AUTHORIZATION, REPO, durable_copy, generate_dataset, log, start_parley  # noqa: E402

READS = [
    "/api/public/sessions?limit=50",
    "/api/public/sessions?limit=50&orderBy=cost.desc",
    "/api/public/sessions?limit=50&orderBy=turns.desc",
    "/api/public/sessions?limit=50&orderBy=duration.asc",
    "/api/public/sessions?limit=50&orderBy=lastActivity.desc",
    "/api/public/sessions?limit=20&journey=checkout",
    "/api/public/sessions/bench-drill-10",
    "/api/public/sessions/bench-drill-100",
    "/api/public/sessions/bench-drill-1000?fields=summary",
    "/api/public/sessions/bench-drill-1000/turns?limit=100&page=3",
    "/api/public/traces?limit=50",
    "/api/public/traces?limit=50&sessionId=bench-drill-100",
    "/api/public/observations?limit=50",
    "/api/public/v2/observations?limit=50&fields=core,usage",
    "/api/public/scores?limit=50",
    "/api/public/users?limit=50",
    "/api/public/analytics/sessions",
    "/api/public/analytics/dropoff?groupBy=lastIntent",
    "/api/public/analytics/dropoff?groupBy=lastTurn",
    "/api/public/analytics/journeys/checkout",
    "/api/public/analytics/journeys",
    "/api/public/quality?fromTimestamp=2020-01-01T00:00:00Z&toTimestamp=2030-01-01T00:00:00Z",
]
VOLATILE = {"age", "ageSeconds", "generatedAt", "computedAt", "asOf"}


def get(base: str, path: str) -> object:
    request = urllib.request.Request(base + path, headers={"Authorization": AUTHORIZATION})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.load(response)


def strip(value: object) -> object:
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def schema_version(binary: str, work: Path) -> int:
    db = work / f"probe-{time.time_ns()}.sqlite"
    parley = start_parley(binary, work, db)
    parley.stop()
    out = subprocess.run(["sqlite3", str(db), "PRAGMA user_version"], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def dataset(binary: str, work: Path, sessions: int, observations: int) -> Path:
    version = schema_version(binary, work)
    cache = REPO / ".bench-data" / f"migration-v{version}-{sessions}-{observations}.sqlite"
    if cache.exists():
        return cache
    cache.parent.mkdir(exist_ok=True)
    log(f"generating {cache} with schema v{version} (several minutes)…")
    db = work / "gen.sqlite"
    generate_dataset(binary, work, db, sessions, observations)
    shutil.copy(db, cache)
    return cache


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", required=True)
    parser.add_argument("--new", required=True)
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--observations", type=int, default=1_000_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="parley-migration-"))
    original = work / "original.sqlite"
    durable_copy(dataset(args.old, work, args.sessions, args.observations), original)
    migrated = work / "migrated.sqlite"
    durable_copy(original, migrated)
    before = subprocess.run(["sqlite3", str(migrated), "PRAGMA user_version"], capture_output=True, text=True).stdout.strip()
    started = time.monotonic()
    subprocess.run([args.new, "keys", "list", "--db", str(migrated)], check=True, capture_output=True)
    took = time.monotonic() - started
    after = subprocess.run(["sqlite3", str(migrated), "PRAGMA user_version"], capture_output=True, text=True).stdout.strip()
    rows = subprocess.run(["sqlite3", str(migrated), "SELECT (SELECT count(*) FROM observations), (SELECT count(*) FROM traces), "
                           "(SELECT count(*) FROM sessions)"], capture_output=True, text=True).stdout.strip()
    print(f"migration v{before} -> v{after}: {took:.2f} s (observations|traces|sessions: {rows}); "
          f"file {original.stat().st_size / 1e6:.0f} MB before, {migrated.stat().st_size / 1e6:.0f} MB after")

    old = start_parley(args.old, work, original)
    new = start_parley(args.new, work, migrated)
    differences = 0
    try:
        for path in READS:
            a, b = strip(get(old.url, path)), strip(get(new.url, path))
            same = a == b
            differences += not same
            print(f"{'same' if same else 'DIFFERENT'}: {path}")
            if not same:
                print("  old:", json.dumps(a)[:400])
                print("  new:", json.dumps(b)[:400])
    finally:
        old.stop()
        new.stop()
    print(f"{len(READS) - differences} of {len(READS)} read answers identical")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
