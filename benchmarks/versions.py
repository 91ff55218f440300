"""Version comparison throughput per scheme, over the shared vector pairs (read in place).

    python benchmarks/versions.py [SHARED_DIR]

Prints, per scheme, compares per second with a cold parse cache (every string parsed once) and
a warm one (the matcher's steady state: installed versions and event values repeat).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from wharfinger.versions import apk, deb, maven, pep440, rpm, semver

SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared")
MODULES = {"deb": deb, "rpm": rpm, "apk": apk, "pep440": pep440, "semver": semver, "maven": maven}


def main() -> None:
    print(f"{'scheme':8} {'pairs':>6} {'cold cmp/s':>12} {'warm cmp/s':>12}")
    for name, module in MODULES.items():
        rows = [json.loads(line) for line in (SHARED / "vectors" / "versions" / f"{name}.jsonl").open()]
        pairs = [(r["a"], r["b"]) for r in rows]
        if name == "apk":
            pairs = [(a, b) for a, b in pairs if apk.is_valid(a) and apk.is_valid(b)]
        module.parse.cache_clear()
        start = time.perf_counter()
        for a, b in pairs:
            module.compare(a, b)
        cold = time.perf_counter() - start
        rounds = 5
        start = time.perf_counter()
        for _ in range(rounds):
            for a, b in pairs:
                module.compare(a, b)
        warm = (time.perf_counter() - start) / rounds
        print(f"{name:8} {len(pairs):6d} {len(pairs) / cold:12,.0f} {len(pairs) / warm:12,.0f}")


if __name__ == "__main__":
    main()
