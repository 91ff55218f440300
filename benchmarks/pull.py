"""Pull benchmark: ``wharfinger pull`` vs ``skopeo copy docker://… oci:…`` from a local registry.

The image is real: big Debian packages (libllvm14/15, gcc-12, libclang-cpp14, libicu72 …) as
five layers, >= 100 MB compressed, built once by the test kit and cached under
``~/.cache/wharfinger-tests`` (``tests/testkit/images.py``, ``BIG_RECIPE``). A throw-away
``docker-registry`` serves it over plain HTTP on a free loopback port; both tools pull into a fresh
OCI layout each run, alternating, under ``/usr/bin/time`` (wall seconds, peak RSS).

    python benchmarks/pull.py [--runs 3]

Targets (issue #3): wharfinger wall time <= 1.0x skopeo, peak RSS < 100 MB.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

from testkit.images import BIG_RECIPE, build_image, skopeo_copy  # noqa: E402 -- after the path setup
from testkit.registry import start_registry  # noqa: E402
from wharfinger.oci.client import RegistryClient, RegistrySettings  # noqa: E402
from wharfinger.oci.pull import pull_to_layout  # noqa: E402

CPU_SECONDS: dict[str, list[float]] = {}  # tool -> user+sys seconds per counted run


def timed(
    command: list[str], env: dict[str, str] | None = None, *, must_succeed: bool = True, label: str = ""
) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of ``command`` under /usr/bin/time; CPU time kept per label."""
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M %U %S", *command], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0 and must_succeed:
        raise SystemExit(f"{command[0]} failed: {done.stderr[-2000:]}")
    wall, rss, user, system = done.stderr.strip().splitlines()[-1].split()
    if label:
        CPU_SECONDS.setdefault(label, []).append(float(user) + float(system))
    return float(wall), int(rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=4, help="layers fetched at once")
    args = parser.parse_args()
    image = build_image(BIG_RECIPE)
    # An existing PYTHONPATH goes first (e.g. a directory holding the pinned typer<0.28).
    extra = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (extra, str(ROOT / "src")) if p)}
    with tempfile.TemporaryDirectory(prefix="wharfinger-bench-pull-") as scratch:
        work = Path(scratch)
        with start_registry(work / "registry") as registry:
            ref = skopeo_copy(image, registry, "bench/big", "latest")
            skopeo_runs: list[tuple[float, int]] = []
            ours_runs: list[tuple[float, int]] = []
            library_runs: list[float] = []
            startup_runs: list[float] = []
            for run in range(-1, args.runs):  # run -1 warms the page cache and is not counted
                skopeo_dir, ours_dir = work / f"skopeo-{run}", work / f"ours-{run}"
                counted = "" if run < 0 else "{}"
                skopeo = timed(
                    ["skopeo", "copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{skopeo_dir}:latest"],
                    label=counted.format("skopeo"),
                )
                ours = timed(
                    [sys.executable, "-m", "wharfinger", "pull", ref, f"oci:{ours_dir}:latest",
                     "--insecure", registry.host],
                    env=env,
                    label=counted.format("wharfinger"),
                )  # fmt: skip
                started = time.perf_counter()
                with RegistryClient(
                    registry.host, settings=RegistrySettings(insecure_hosts=frozenset({registry.host}))
                ) as client:
                    pull_to_layout(client, "bench/big", "latest", work / f"library-{run}")
                library = time.perf_counter() - started
                shutil.rmtree(work / f"library-{run}")
                # start-up floor: the same command refused at once (bad destination, exit 3), no network
                startup = timed(
                    [sys.executable, "-m", "wharfinger", "pull", ref, "dir:/nowhere"],
                    env=env,
                    must_succeed=False,
                    label=counted.format("startup"),
                )
                if run >= 0:
                    startup_runs.append(startup[0])
                    skopeo_runs.append(skopeo)
                    ours_runs.append(ours)
                    library_runs.append(library)
                shutil.rmtree(skopeo_dir)
                shutil.rmtree(ours_dir)
    skopeo_wall = statistics.median(w for w, _ in skopeo_runs)
    ours_wall = statistics.median(w for w, _ in ours_runs)
    print(f"image: {BIG_RECIPE.name}, {len(BIG_RECIPE.layers)} layers, {image.size / 1e6:.1f} MB compressed")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"skopeo copy   : median {skopeo_wall:.2f} s, runs {[w for w, _ in skopeo_runs]}, "
          f"peak RSS {max(r for _, r in skopeo_runs) / 1024:.0f} MB")  # fmt: skip
    print(f"wharfinger pull: median {ours_wall:.2f} s, runs {[w for w, _ in ours_runs]}, "
          f"peak RSS {max(r for _, r in ours_runs) / 1024:.0f} MB")  # fmt: skip
    print(f"pull_to_layout (in-process, no interpreter start-up): median {statistics.median(library_runs):.2f} s, "
          f"runs {[round(x, 2) for x in library_runs]}")  # fmt: skip
    print(
        f"CLI start-up floor (`wharfinger pull` refused before any I/O): median {statistics.median(startup_runs):.2f} s"
    )
    print(f"ratio wharfinger/skopeo: CLI {ours_wall / skopeo_wall:.2f}x, in-process "
          f"{statistics.median(library_runs) / skopeo_wall:.2f}x (target <= 1.0x); RSS target < 100 MB")  # fmt: skip
    typer_version = subprocess.run(
        [sys.executable, "-c", "import typer; print(typer.__version__)"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    cpu = {k: statistics.median(v) for k, v in CPU_SECONDS.items()}
    print(f"CPU seconds (user+sys, median): skopeo {cpu['skopeo']:.2f}, wharfinger {cpu['wharfinger']:.2f}, "
          f"of which start-up {cpu['startup']:.2f}")  # fmt: skip
    print(f"load average: {os.getloadavg()[0]:.1f}; typer {typer_version}")


if __name__ == "__main__":
    main()
