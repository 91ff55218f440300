"""What ``wharfinger sbom`` finds in the bench kit's images, against syft and trivy, per source.

usage: python benchmarks/accuracy.py [--kit DIR] [--harness DIR] [--registry HOST:PORT] [IMAGE ...]

The kit (``shared/bench-images``, README there) must be built (``setup.sh``): its images as OCI
layouts, docker archives and in the plain registry, and the peers' purl lists in
``$HARNESS_DIR/results/<image>.<tool>.purls.txt``. Those are read in place, never copied.

For every image and source (registry, ``oci:``, ``docker-archive:``; the arm64 entry of
``deb-min-multi`` as ``deb-min-multi@arm64``) this runs ``wharfinger sbom … -o cyclonedx-json`` as a
fresh process with an empty cache, and the kit's ``compare_inventory.py`` against each peer. Each
package a peer reports and we do not is then looked up in our *syft view* of the image
(``inventory_of_source(skip_os_owned=False)``: language packages inside OS packages too): found
there, it is a file an OS package installed, which we report as that OS package (trivy's rule);
not found, it is a miss, and the script exits 1. The output is the markdown of
``docs/accuracy.md``'s tables.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
IMAGES = (
    "deb-min",
    "deb-old",
    "py-app",
    "node-app",
    "go-bin",
    "java-app",
    "deb-min-multi",
    "deb-min-multi@arm64",
    "big",
)
PEERS = ("syft", "trivy")


@dataclass
class Run:
    source: str
    seconds: float
    ours: dict[str, int]  # purl type -> distinct names
    compared: dict[str, dict[str, object]]  # peer -> compare_inventory.py --json


@dataclass
class ImageReport:
    image: str
    runs: list[Run] = field(default_factory=list)
    syft_view: set[str] = field(default_factory=set)  # normalised purls (name@version)
    peers: dict[str, dict[str, int]] = field(default_factory=dict)


def sources(image: str, harness: Path, registry: str) -> list[tuple[str, list[str]]]:
    """(label, wharfinger arguments) for each way the kit offers ``image``."""
    name, _, arch = image.partition("@")
    platform = ["--platform", f"linux/{arch}"] if arch else []
    found = [
        ("registry", [f"{registry}/harness/{name}:latest", "--insecure", registry, *platform]),
        ("oci", [f"oci:{harness}/images/{name}:latest", *platform]),
    ]
    archive = harness / "images" / f"{name}.docker.tar"
    if archive.is_file() and not arch:
        found.append(("archive", [f"docker-archive:{archive}"]))
    return found


def run_wharfinger(arguments: list[str], out: Path, scratch: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "WHARFINGER_CACHE_DIR": str(scratch / "cache")}
    command = [sys.executable, "-m", "wharfinger", "sbom", *arguments, "--no-cache", "-o", f"cyclonedx-json={out}"]
    start = dt.datetime.now(tz=dt.UTC)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wharfinger sbom {' '.join(arguments)} failed:\n{done.stderr[-2000:]}")
    return (dt.datetime.now(tz=dt.UTC) - start).total_seconds()


def compare(kit: Path, image: str, peer: str, ours: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(kit / "compare_inventory.py"), image, peer, str(ours), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode not in (0, 1):
        raise SystemExit(f"compare_inventory.py {image} {peer} failed:\n{done.stderr[-2000:]}")
    report: dict[str, object] = json.loads(done.stdout)
    return report


def syft_view(kit: Path, image: str, harness: Path, scratch: Path) -> set[str]:
    """Normalised purls of our inventory with OS-owned language packages kept (syft's rule)."""
    from wharfinger.inventory.sources import inventory_of_source
    from wharfinger.oci.settings import Settings
    from wharfinger.sbom import render_sbom

    sys.path.insert(0, str(kit))
    from sbom_purls import normalize, purls_of  # type: ignore[import-not-found]

    name, _, arch = image.partition("@")
    settings = Settings.from_env({"WHARFINGER_CACHE_DIR": str(scratch / "cache")})
    inventory, subject = inventory_of_source(
        f"oci:{harness}/images/{name}:latest",
        settings=settings,
        platform=f"linux/{arch}" if arch else None,
        use_cache=False,
        skip_os_owned=False,
    )
    document = json.loads(render_sbom(inventory, "cyclonedx-json", subject, now=dt.datetime.now(tz=dt.UTC)))
    return {normal for purl in purls_of(document) if (normal := normalize(purl))}


def peer_counts(harness: Path, image: str, peer: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    lines = (harness / "results" / f"{image}.{peer}.purls.txt").read_text().split()
    for key in {line.rpartition("@")[0] if "@" in line else line for line in lines}:
        kind = key[4:].split("/", 1)[0]
        counts[kind] = counts.get(kind, 0) + 1
    return counts


def by_type(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items())) or "—"


def report_image(kit: Path, harness: Path, registry: str, image: str) -> ImageReport:
    report = ImageReport(image=image, peers={peer: peer_counts(harness, image, peer) for peer in PEERS})
    with tempfile.TemporaryDirectory(prefix="wharfinger-accuracy-") as tmp:
        scratch = Path(tmp)
        for label, arguments in sources(image, harness, registry):
            out = scratch / f"{label}.cdx.json"
            seconds = run_wharfinger(arguments, out, scratch)
            compared = {peer: compare(kit, image, peer, out) for peer in PEERS}
            ours = {kind: int(c["b"]) for kind, c in compared["syft"]["by_type"].items() if int(c["b"])}  # type: ignore[attr-defined]
            report.runs.append(Run(source=label, seconds=seconds, ours=ours, compared=compared))
        report.syft_view = syft_view(kit, image, harness, scratch)
    return report


def _key(entry: str) -> str:
    return entry.rpartition("@")[0] if "@" in entry else entry


def _in_view(entry: str, view: set[str]) -> bool:
    """``key@v1,v2`` (compare_inventory.py's spelling): every version is in ``view``."""
    key, _, versions = entry.rpartition("@") if "@" in entry else (entry, "", "")
    return all((f"{key}@{v}" if v else key) in view for v in versions.split(","))


def _name_and_version(entry: str) -> tuple[str, str, str]:
    """(type, last name segment, version): the same package under another namespace."""
    key, _, version = entry.rpartition("@") if "@" in entry else (entry, "", "")
    return key[4:].split("/", 1)[0], key.rsplit("/", 1)[-1], version


def render(report: ImageReport) -> tuple[list[str], int]:
    """Markdown lines for one image and the number of packages a peer has and we miss."""
    lines = [f"### {report.image}", ""]
    lines += [f"syft: {by_type(report.peers['syft'])} · trivy: {by_type(report.peers['trivy'])}", ""]
    lines += ["| source | wharfinger | vs syft: missing / extra / ver ≠ | vs trivy: missing / extra / ver ≠ | wall s |"]
    lines += ["|---|---|---|---|---|"]
    differences: dict[tuple[str, str], set[str]] = {}
    for run in report.runs:
        cells = []
        for peer in PEERS:
            c = run.compared[peer]
            missing, extra, mismatch = c["missing_in_b"], c["extra_in_b"], c["version_mismatch"]
            assert isinstance(missing, list)
            assert isinstance(extra, list)
            assert isinstance(mismatch, list)
            cells.append(f"{len(missing)} / {len(extra)} / {len(mismatch)}")
            ours_by_name = {_name_and_version(e): e for e in extra}
            for entry in missing:
                if _in_view(entry, report.syft_view):
                    why = "inside an OS package"
                elif _name_and_version(entry) in ours_by_name:
                    why = f"same name and version, other namespace (ours `{ours_by_name[_name_and_version(entry)]}`)"
                else:
                    why = "MISSED"
                differences.setdefault((f"{peer} only, {why}", entry), set()).add(run.source)
            for entry in extra:
                differences.setdefault((f"ours only, not in {peer}", entry), set()).add(run.source)
            for m in mismatch:
                text = f"{m['package']}: {peer} {','.join(m['a'])}, ours {','.join(m['b'])}"
                differences.setdefault((f"version differs from {peer}", text), set()).add(run.source)
        lines.append(f"| {run.source} | {by_type(run.ours)} | {cells[0]} | {cells[1]} | {run.seconds:.1f} |")
    all_sources = {run.source for run in report.runs}
    grouped: dict[str, list[str]] = {}
    for (kind, entry), where in sorted(differences.items()):
        suffix = "" if where == all_sources else f" ({', '.join(sorted(where))} only)"
        grouped.setdefault(kind, []).append(entry + suffix)
    if grouped:
        lines.append("")
    for kind, entries in grouped.items():
        shown = ", ".join(f"`{e}`" for e in entries[:40]) + (
            f" … {len(entries) - 40} more" if len(entries) > 40 else ""
        )
        lines.append(f"- {kind} ({len(entries)}): {shown}")
    missed = sum(len(v) for k, v in grouped.items() if k.endswith("MISSED"))
    return [*lines, ""], missed


def tool_versions(kit: Path) -> str:
    found = []
    for peer, flag in (("syft", "version"), ("trivy", "--version")):
        path = subprocess.run(
            ["/bin/bash", "-c", f"source {kit}/common.sh >/dev/null 2>&1; peer_bin {peer}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        shown = subprocess.run([path, flag], capture_output=True, text=True, check=False).stdout if path else ""
        version = next(
            (ln.split()[-1] for ln in shown.splitlines() if ln.lower().startswith(("version", "  version"))), "?"
        )
        found.append(f"{peer} {version}")
    return ", ".join(found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("images", nargs="*", default=list(IMAGES))
    parser.add_argument("--kit", type=Path, default=ROOT.parent / "shared" / "bench-images")
    parser.add_argument("--harness", type=Path, default=Path(os.environ.get("HARNESS_DIR", "/var/tmp/harness")))  # noqa: S108 - the kit's default
    parser.add_argument("--registry", default=os.environ.get("REGISTRY", "127.0.0.1:5000"))
    args = parser.parse_args()
    if not (args.harness / "results" / "summary.md").is_file():
        raise SystemExit(f"no bench kit results under {args.harness}: run {args.kit}/setup.sh first")
    print(
        f"{dt.datetime.now(tz=dt.UTC):%Y-%m-%d %H:%M} UTC · {tool_versions(args.kit)} · python {sys.version.split()[0]}"
    )
    print()
    missed = 0
    for image in args.images:
        lines, image_missed = render(report_image(args.kit, args.harness, args.registry, image))
        missed += image_missed
        print("\n".join(lines), flush=True)
    print(f"packages a peer reports that Wharfinger misses: {missed}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
