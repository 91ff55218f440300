"""Matching benchmarks: the CI gate and the fleet rescan.

    python benchmarks/matching.py [--shared DIR] [--sboms 10000] [--runs 10]

1. Database: every feed in ``shared/vulndata`` ingested into one SQLite file (cached under
   ``~/.cache/wharfinger-bench/``, rebuilt when missing).
2. Package pool, from the shared data: the language packages the fixtures' ``expected.json``
   lists (Go, npm, PyPI, Maven), Debian 11 packages named in the DSA list and Alpine 3.11
   packages named in secdb, each at a version just below or at a published fix (so a realistic
   share of them is vulnerable).
3. ``scan``: a 1,000-package CycloneDX SBOM scanned by ``python -m wharfinger scan`` as a
   subprocess, wall time including interpreter start-up (median of --runs). Target < 300 ms.
4. Rescan: --sboms stored SBOMs (a distro base of 40-150 packages plus 20-400 language packages,
   drawn from the pool) re-matched after a database update: the database is loaded into memory
   once (``VulnDatabase.load_index``) and one ``Matcher`` serves every SBOM. Target < 60 s for
   10,000.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from wharfinger.inventory.package import Package, PackageType  # noqa: E402
from wharfinger.matching import Matcher  # noqa: E402
from wharfinger.vulndb.database import VulnDatabase, write_database  # noqa: E402
from wharfinger.vulndb.ingest import ingest_files  # noqa: E402

CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "wharfinger-bench"
_LANG = {
    "golang": (PackageType.GOLANG, "golang"),
    "nodejs": (PackageType.NPM, "npm"),
    "python": (PackageType.PYPI, "pypi"),
    "java": (PackageType.MAVEN, "maven"),
}


def build_database(shared: Path) -> Path:
    path = CACHE / "vulndb-all.sqlite"
    if path.is_file():
        return path
    root = shared / "vulndata"
    files = [(str(p.relative_to(root)), p.read_bytes()) for p in sorted(root.rglob("*")) if p.is_file()]
    start = time.perf_counter()
    write_database(path, ingest_files(files), now=datetime.now(UTC))
    print(f"database: {len(files)} files ingested in {time.perf_counter() - start:.1f} s -> {path}")
    return path


def language_pool(shared: Path) -> list[Package]:
    expected = json.loads((shared / "fixtures" / "inventory" / "expected.json").read_text())
    pool: dict[tuple[str, str, str], Package] = {}
    for key, entry in expected.items():
        if not isinstance(entry, dict):
            continue
        kind = next((v for k, v in _LANG.items() if f"/{k}/" in key), None)
        if kind is None:
            continue
        package_type, purl_type = kind
        for raw in entry["packages"]:
            name, version = raw.get("Name") or raw.get("name"), raw.get("Version") or raw.get("version")
            if not name or not version:
                continue
            if package_type is PackageType.MAVEN and ":" in name:
                group, artifact = name.split(":", 1)
                purl = f"pkg:maven/{group}/{artifact}@{version}"
            else:
                purl = f"pkg:{purl_type}/{name}@{version}"
            pool[(purl_type, name, version)] = Package(name=name, version=version, type=package_type, purl=purl)
    return list(pool.values())


def os_pool(shared: Path, rng: random.Random) -> tuple[list[Package], list[Package]]:
    """Debian 11 and Alpine 3.11 packages at a published fixed version or the revision before it."""
    debian: dict[str, Package] = {}
    for line in (shared / "vulndata" / "debian-tracker" / "data" / "DSA" / "list").read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == "[bullseye]" and parts[1] == "-" and parts[3][0].isdigit():
            source, fixed = parts[2], parts[3]
            version = fixed if rng.random() < 0.6 else fixed.replace("deb11u", "deb11u0")
            debian[source] = Package(
                name=source,
                version=version,
                type=PackageType.DEB,
                source_name=source,
                purl=f"pkg:deb/debian/{source}@{version}?arch=amd64&distro=debian-11",
            )
    import yaml

    alpine: dict[str, Package] = {}
    for file in ("main.yaml", "community.yaml"):
        data = yaml.safe_load((shared / "vulndata" / "alpine-secdb" / "v3.11" / file).read_text())
        for entry in data["packages"]:
            name, fixes = entry["pkg"]["name"], list(entry["pkg"].get("secfixes") or {})
            fixes = [f for f in fixes if f[0].isdigit()]
            if fixes:
                version = rng.choice(fixes)
                alpine[name] = Package(
                    name=name,
                    version=version,
                    type=PackageType.APK,
                    source_name=name,
                    purl=f"pkg:apk/alpine/{name}@{version}?arch=x86_64&distro=alpine-3.11.6",
                )
    return list(debian.values()), list(alpine.values())


def cyclonedx(packages: list[Package]) -> str:
    return json.dumps(
        {
            "bomFormat": "CycloneDX",
            "specVersion": "1.6",
            "version": 1,
            "metadata": {"component": {"type": "container", "name": "bench"}},
            "components": [{"type": "library", "name": p.name, "version": p.version, "purl": p.purl} for p in packages],
        }
    )


def bench_scan(db: Path, packages: list[Package], runs: int) -> None:
    sbom = CACHE / "sbom-1000.cdx.json"
    sbom.write_text(cyclonedx(packages))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "wharfinger", "scan", str(sbom), "--db", str(db), "-o", "json=/dev/null", "-q"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if first.returncode not in (0, 1):
        raise SystemExit(f"scan failed: {first.stderr}")
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, env=env, capture_output=True, check=False)
        walls.append(time.perf_counter() - start)
    result = subprocess.run([*command[:-3], "-o", "json"], env=env, capture_output=True, text=True, check=False)
    summary = json.loads(result.stdout)["summary"]
    print(
        f"scan of a {len(packages)}-package SBOM: median {statistics.median(walls) * 1000:.0f} ms, "
        f"min {min(walls) * 1000:.0f} ms over {runs} runs (findings {summary['findings']}, "
        f"skipped {summary['packages_skipped']})"
    )


def bench_rescan(
    db: Path, pools: tuple[list[Package], list[Package], list[Package]], count: int, rng: random.Random
) -> None:
    language, debian, alpine = pools
    sboms = []
    for _ in range(count):
        base = (
            rng.sample(debian, rng.randint(60, 150)) if rng.random() < 0.7 else rng.sample(alpine, rng.randint(30, 60))
        )
        sboms.append(base + rng.sample(language, rng.randint(20, min(400, len(language)))))
    total_packages = sum(len(s) for s in sboms)
    start = time.perf_counter()
    with VulnDatabase.open(db) as database:
        index = database.load_index()
    loaded = time.perf_counter() - start
    matcher = Matcher(index)
    findings = 0
    start = time.perf_counter()
    for packages in sboms:
        findings += sum(len(matches) for _, matches in matcher.matches(packages))
    matched = time.perf_counter() - start
    print(
        f"rescan of {count} SBOMs ({total_packages:,} packages, {findings:,} package-advisory matches): "
        f"load index {loaded:.1f} s + match {matched:.1f} s = {loaded + matched:.1f} s"
    )
    sample = sboms[: max(1, count // 10)]
    start = time.perf_counter()
    full = sum(len(matcher.match(packages).findings) for packages in sample)
    elapsed = time.perf_counter() - start
    print(
        f"  full MatchResult (Finding objects, skipped, problems) for {len(sample)} of them: {elapsed:.1f} s "
        f"({full:,} findings; x{count // len(sample)} = {elapsed * count / len(sample):.0f} s for all)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--shared", type=Path, default=Path(os.environ.get("WHARFINGER_SHARED", ROOT.parent / "shared"))
    )
    parser.add_argument("--sboms", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    shared = args.shared if (args.shared / "vulndata").is_dir() else Path("/work/shared")
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(20261124)
    db = build_database(shared)
    language = language_pool(shared)
    debian, alpine = os_pool(shared, rng)
    print(f"pool: {len(language)} language, {len(debian)} Debian 11, {len(alpine)} Alpine 3.11 packages")
    sbom = rng.sample(debian, min(300, len(debian))) + rng.sample(language, min(700, len(language)))
    while len(sbom) < 1000:
        sbom.append(rng.choice(language))
    bench_scan(db, sbom[:1000], args.runs)
    bench_rescan(db, (language, debian, alpine), args.sboms, rng)


if __name__ == "__main__":
    main()
