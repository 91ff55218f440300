"""Time each language cataloger on the shared inventory fixtures, and syft on the same folder.

    python benchmarks/catalogers.py [--repeat 5] [--no-peers]

Input: ``../shared/fixtures/inventory`` (≈ 920 files: lock files, installed manifests, jars, Go and
Rust binaries), read in place through ``DirFS``. Each cataloger runs ``--repeat`` times on one
``DirFS`` whose file list is already walked, so the figure is its own glob + read + parse time.
The end-to-end row runs ``catalog_fs`` (distro detection, OS and language catalogers) on a fresh
``DirFS`` in a new process, as ``syft dir:`` does, so start-up is counted for both.
Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from wharfinger.inventory.cataloger import LANGUAGE_CATALOGER_SPECS, CatalogContext, load_catalogers  # noqa: E402
from wharfinger.inventory.filesystem import DirFS  # noqa: E402

SHARED = Path(os.environ.get("WHARFINGER_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures" / "inventory"
END_TO_END = (
    "import sys; from pathlib import Path; sys.path.insert(0, {src!r});"
    "from wharfinger.inventory.catalog import catalog_fs; from wharfinger.inventory.filesystem import DirFS;"
    "print(len(catalog_fs(DirFS(Path({root!r}))).packages))"
)


def _median_wall(command: list[str], repeat: int) -> tuple[float, str]:
    times = []
    out = ""
    for _ in range(repeat):
        start = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    if not FIXTURES.is_dir():
        sys.exit(f"fixtures missing at {FIXTURES}; set WHARFINGER_SHARED")

    fs = DirFS(FIXTURES)
    files = sum(1 for _ in fs.walk())
    context = CatalogContext(distro=None, warn=lambda _message: None)
    print(f"Input: {FIXTURES} ({files} files), median of {args.repeat} runs\n")
    print("| cataloger | packages | median ms |")
    print("|---|---:|---:|")
    total = 0.0
    for cataloger in load_catalogers(LANGUAGE_CATALOGER_SPECS):
        times = []
        count = 0
        for _ in range(args.repeat):
            start = time.perf_counter()
            count = len(cataloger.catalog(fs, context))
            times.append(time.perf_counter() - start)
        median = statistics.median(times)
        total += median
        print(f"| {cataloger.name} | {count} | {median * 1000:.1f} |")
    print(f"| **all language catalogers** | | **{total * 1000:.1f}** |\n")

    ours_s, ours_out = _median_wall(
        [sys.executable, "-c", END_TO_END.format(src=str(ROOT / "src"), root=str(FIXTURES))], args.repeat
    )
    print("| end to end (new process, OS + language) | packages | median s |")
    print("|---|---:|---:|")
    print(f"| wharfinger catalog_fs | {ours_out.strip()} | {ours_s:.2f} |")
    syft = shutil.which("syft") or str(Path(sys.executable).parent / "syft")
    if not args.no_peers and Path(syft).exists():
        peer_s, peer_out = _median_wall([syft, f"dir:{FIXTURES}", "-q", "-o", "syft-table"], args.repeat)
        rows = max(0, len(peer_out.strip().splitlines()) - 1)
        version = subprocess.run([syft, "version"], capture_output=True, text=True, check=False).stdout
        syft_version = next((line.split()[-1] for line in version.splitlines() if line.startswith("Version")), "?")
        print(f"| syft {syft_version} dir: | {rows} | {peer_s:.2f} |")


if __name__ == "__main__":
    main()
