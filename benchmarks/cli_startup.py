"""Start-up time of the CLI: `wharfinger --help` and `wharfinger inspect` on a local image.

Budgets (STYLE 2.5 and issue #3): `--help` < 200 ms, `inspect` of a local/cached image < 150 ms
wall, interpreter start-up included. Uses hyperfine when installed (it is in the test deps),
else a plain loop of subprocess runs. Prints a Markdown table for docs/benchmarks.md and exits
non-zero when a budget is blown.

    python benchmarks/cli_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "src" / "wharfinger" / "demo" / "image"


def cases() -> list[tuple[str, list[str], float | None]]:
    py = sys.executable
    inspect = [py, "-m", "wharfinger", "inspect", f"oci:{DEMO}:1.0"]
    return [
        ("python -c pass (interpreter floor)", [py, "-c", "pass"], None),
        ("wharfinger --help", [py, "-m", "wharfinger", "--help"], 0.200),
        ("wharfinger inspect oci:demo", inspect, 0.150),
        ("wharfinger inspect oci:demo -o json", [*inspect, "-o", "json"], 0.150),
    ]  # fmt: skip


def measure_hyperfine(command: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], float]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        subprocess.run(
            ["hyperfine", "-N", "--style", "none", "-w", "3", "-r", str(runs), "--export-json", str(out),
             " ".join(command)],
            check=True, env=env, capture_output=True,
        )  # fmt: skip
        result = json.loads(out.read_text())["results"][0]
        return [float(t) for t in result["times"]], float(result["user"]) + float(result["system"])


def measure_loop(command: list[str], runs: int, env: dict[str, str]) -> tuple[list[float], float]:
    times = []
    for _ in range(3):
        subprocess.run(command, check=True, env=env, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, env=env, capture_output=True)
        times.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / runs
    return times, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    extra = os.environ.get("PYTHONPATH")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), *([extra] if extra else [])])}
    measure = measure_hyperfine if shutil.which("hyperfine") else measure_loop
    failed = False
    load = os.getloadavg()[0]
    import typer  # the CLI framework's version decides much of the start-up (0.28+ pulls in pydantic)

    print(
        f"load average at start: {load:.2f} on {os.cpu_count()} CPUs, typer {typer.__version__} ({measure.__name__})\n"
    )
    print("| command | mean | median | min | CPU user+sys | budget (median) |")
    print("|---|---|---|---|---|---|")
    for name, command, budget in cases():
        times, cpu = measure(command, args.runs, env)
        median = statistics.median(times)
        verdict = "-" if budget is None else f"{budget * 1000:.0f} ms " + ("ok" if median < budget else "OVER")
        failed |= budget is not None and median >= budget
        print(
            f"| `{name}` | {statistics.mean(times) * 1000:.1f} ms | {median * 1000:.1f} ms | "
            f"{min(times) * 1000:.1f} ms | {cpu * 1000:.1f} ms | {verdict} |"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
