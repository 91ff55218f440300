"""Admission decision latency and throughput, server-side, against the real webhook process.

    python benchmarks/admission/run.py [--seconds 10] [--rate 500]

1. Starts ``wharfinger admission serve`` over TLS (policy/facts in this folder, audit log on).
2. Paced: ``wrk`` (a second process) offers ``--rate`` requests/s for ``--seconds`` (each of 25
   connections waits between requests); the server-side p50/p99 come from the webhook's own
   histogram (delta over the phase; bucket bounds 0.5, 1, 2.5, 5 ms …).
3. Throughput: ``wrk`` at full speed; decisions/s as wrk counts them, and non-2xx replies.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from admission_server import start_webhook  # noqa: E402 -- the test suite's webhook launcher


def histogram(text: str, *, cache: str | None = None) -> dict[float, float]:
    """The webhook's ``/validate`` decision-time histogram (cumulative counts by bucket bound),
    summed over cache hits and misses, or for ``cache`` ("hit"/"miss") only."""
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        m = re.match(r'wharfinger_admission_decision_seconds_bucket\{(.*)le="([^"]+)"\} (\S+)', line)
        if not m or 'endpoint="validate"' not in m.group(1):
            continue
        if cache is not None and f'cache="{cache}"' not in m.group(1):
            continue
        le = float("inf") if m.group(2) == "+Inf" else float(m.group(2))
        buckets[le] = buckets.get(le, 0.0) + float(m.group(3))
    return buckets


def share_below(before: dict[float, float], after: dict[float, float], bound: float) -> float:
    total = after[float("inf")] - before.get(float("inf"), 0.0)
    return (after[bound] - before.get(bound, 0.0)) / total if total else 0.0


def percentile_bucket(before: dict[float, float], after: dict[float, float], q: float) -> float:
    for bound in sorted(after):
        if share_below(before, after, bound) >= q:
            return bound
    return float("inf")


def run_wrk(url: str, *, connections: int, seconds: float, delay_ms: int) -> tuple[float, int, str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    result = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            str(HERE / "post.lua"),
            f"{url}/validate",
        ],
        env={**os.environ, "WRK_BODY_FILE": str(HERE / "review.json"), "WRK_DELAY_MS": str(delay_ms)},
        capture_output=True,
        text=True,
        check=True,
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    return float(rps.group(1)) if rps else 0.0, int(non2xx.group(1)) if non2xx else 0, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wharfinger-bench-"))
    server = start_webhook(
        work,
        "--policy", str(HERE / "policy.yaml"),
        "--facts", str(HERE / "facts.yaml"),
        "--audit-log", str(work / "audit.jsonl"),
        verbose=False,
    )  # fmt: skip
    url, ctx = server.url, server.ssl_context()
    body = (HERE / "review.json").read_bytes()
    try:
        httpx.post(f"{url}/validate", content=body, verify=ctx, headers={"Content-Type": "application/json"})
        # fixed rate: connections x (1000 / delay) requests/s, each connection paced by wrk's delay()
        connections = 25  # enough that wrk's per-connection pause, not the latency, sets the rate
        delay_ms = max(1, int(connections * 1000 / args.rate) - 8)  # wrk pauses after each reply (~8 ms here)
        before = histogram(httpx.get(f"{url}/metrics", verify=ctx).text)
        rps, non2xx, report = run_wrk(url, connections=connections, seconds=args.seconds, delay_ms=delay_ms)
        after = histogram(httpx.get(f"{url}/metrics", verify=ctx).text)
        print(
            f"paced: {rps:.0f} decisions/s offered by wrk ({connections} connections, {delay_ms} ms apart), "
            f"non-2xx {non2xx}"
        )
        print(
            f"  server-side: {share_below(before, after, 0.001) * 100:.1f} % <= 1 ms, "
            f"{share_below(before, after, 0.005) * 100:.2f} % <= 5 ms "
            f"(p50 bucket <= {percentile_bucket(before, after, 0.5) * 1000:g} ms, "
            f"p99 bucket <= {percentile_bucket(before, after, 0.99) * 1000:g} ms)"
        )
        print(report)
        rps, non2xx, report = run_wrk(url, connections=args.connections, seconds=args.seconds, delay_ms=0)
        print(f"throughput (wrk -t2 -c{args.connections}): {rps:.0f} decisions/s, non-2xx: {non2xx}")
        print(report)
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
