"""What verifying docker-archive layers costs a cold ``wharfinger sbom``, beside trivy, same run.

usage: python benchmarks/verify_cost.py [--runs N] [--rt] [--images deb-min,py-app]

Every layer of a ``docker-archive:`` source is hashed against its digest while it is parsed in
place: by the hashing helper process (``inventory.layer_hasher``), one layer after another; trivy
does not hash these layers (it keys its cache by the config's diff IDs). This script measures cold
runs, interleaved: wharfinger as shipped; two variants made *in this experiment only* (nothing in
``src/`` can do them: they are not product options); and trivy. The variants:

* ``in a thread``: each layer hashed by a thread of wharfinger's own process, as up to session 6
  (the helper made unable to start, so the shipped fallback, ``layers._Verifier``, runs);
* ``no hash``: no layer is hashed at all.

It answers one question for issue #4's docker-archive figure: how much of the gap to 0.7x trivy
is the hash. (Session 6's variants, reading without hashing and hashing a memory map, are in
docs/benchmarks.md: both were measured against the thread.)

The images are the bench kit's (``kit_sbom.py``); its helpers run the tools the same way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from kit_sbom import ROOT, commands, fresh_caches, image_files, measure, warm_page_cache

# the CLI with the layer verification replaced by VARIANT's: every layer is still parsed in place
_VARIANT = """
import sys
from wharfinger.inventory import layer_hasher, layers
VARIANT = sys.argv.pop(1)
if VARIANT == "in a thread":
    def _no_helper(command, channel_fd):
        raise OSError("the helper is not used in this variant")
    layer_hasher._spawn = _no_helper
elif VARIANT == "no hash":
    class _Unverified:
        def __init__(self, *args, **kwargs):
            pass
        def verdict(self):
            return None
        def cancel(self):
            pass
    layers._HelperVerifier = _Unverified
sys.argv = ["wharfinger", *sys.argv[1:]]
from wharfinger.cli.process import run
run()
"""
_VARIANTS = ("in a thread", "no hash")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rt", action="store_true", help="run each tool under chrt -f 20 (root)")
    parser.add_argument("--images", default="deb-min,deb-old,py-app,node-app,go-bin,java-app")
    args = parser.parse_args()
    names = ("shipped", *_VARIANTS, "trivy")
    heading = ("image", *(f"{name} (s)" for name in names), "0.7x trivy (s)", "hash costs")
    print("| " + " | ".join(heading) + " |")
    print("|---" * len(heading) + "|")
    for image in args.images.split(","):
        with tempfile.TemporaryDirectory(prefix="verify-cost-") as scratch_name:
            scratch = Path(scratch_name)
            tools = commands(image, "archive", scratch)
            ours_argv, ours_env = tools["wharfinger"]
            variants = {
                "shipped": (ours_argv, ours_env),
                **{name: ([sys.executable, "-c", _VARIANT, name, *ours_argv[3:]], ours_env) for name in _VARIANTS},
                "trivy": tools["trivy"],
            }
            times: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.runs):
                for name, (argv, env) in variants.items():
                    fresh_caches(scratch)
                    warm_page_cache(image_files(image, "archive"))
                    elapsed, _rss = measure(argv, {**env, "PYTHONPATH": str(ROOT / "src")}, rt=args.rt)
                    times[name].append(elapsed)
        medians = {name: statistics.median(samples) for name, samples in times.items()}
        columns = " | ".join(f"{medians[name]:.3f}" for name in ("shipped", *_VARIANTS, "trivy"))
        print(
            f"| {image} | {columns} | {0.7 * medians['trivy']:.3f} "
            f"| {1000 * (medians['shipped'] - medians['no hash']):.0f} ms |",
            flush=True,
        )
    print(f"\n{args.runs} runs each, interleaved; {os.cpu_count()} cores", file=sys.stderr)


if __name__ == "__main__":
    main()
