"""The vulnerability database's hot paths, on everything in ../shared/vulndata.

1. ``wharfinger db build --from ../shared/vulndata -o FILE`` as a user runs it (a subprocess,
   interpreter start-up included): budget < 60 s wall (issue #5). Wall, user+sys CPU and the
   machine's load average are printed, because this machine is shared.
2. ``VulnDatabase.advisories_for`` over a fixed list of (ecosystem, name) pairs drawn from the
   database itself: per-lookup latency.
3. ``VulnDatabase.load_index``: everything in memory, for re-matching many SBOMs.

Prints a Markdown table for docs/benchmarks.md; exits non-zero when the build budget is blown.

    python benchmarks/vulndb.py [--shared DIR] [--keep FILE]
"""

from __future__ import annotations

import argparse
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD_BUDGET_S = 60.0


def build(shared: Path, out: Path) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "wharfinger", "db", "build", "--from", str(shared / "vulndata"), "-o", str(out)],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def lookups(path: Path) -> tuple[int, float, float]:
    sys.path.insert(0, str(ROOT / "src"))
    from wharfinger.vulndb.database import VulnDatabase

    connection = sqlite3.connect(path)
    pairs = connection.execute("SELECT DISTINCT ecosystem, name FROM affected ORDER BY ecosystem, name").fetchall()[
        ::7
    ][:5000]
    connection.close()
    with VulnDatabase.open(path) as db:
        started = time.perf_counter()
        found = sum(len(db.advisories_for(eco, name)) for eco, name in pairs)
        per_lookup = (time.perf_counter() - started) / len(pairs)
        started = time.perf_counter()
        index = db.load_index()
        load = time.perf_counter() - started
    assert found > 0
    assert len(index) > 0
    return len(pairs), per_lookup, load


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    parser.add_argument("--keep", type=Path, help="keep the built database here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp) / "vulndb.sqlite"
        load_before = os.getloadavg()[0]
        wall, cpu = build(args.shared, out)
        count, per_lookup, load = lookups(out)
        size_mb = out.stat().st_size / 1e6
    print("| what | figure | budget |")
    print("|---|---|---|")
    print(f"| `db build` of all shared vulndata: wall | {wall:.1f} s | < {BUILD_BUDGET_S:.0f} s |")
    print(f"| `db build`: CPU (user+sys) | {cpu:.1f} s | |")
    print(f"| load average when it started | {load_before:.1f} (2 cores) | |")
    print(f"| database size | {size_mb:.1f} MB | |")
    print(f"| `advisories_for` ({count} packages, cold cache) | {per_lookup * 1e6:.0f} µs per lookup | |")
    print(f"| `load_index` (every advisory in memory) | {load:.2f} s | |")
    return 0 if wall < BUILD_BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
