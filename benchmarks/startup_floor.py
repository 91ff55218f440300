"""What a cold SBOM cannot go below: the process floor beside trivy's whole run, same run.

usage: python benchmarks/startup_floor.py [--runs N] [--rt] [--images go-bin,deb-min] [--sources archive,oci,registry]

Issue #4 asks for a cold SBOM in <= 0.7x trivy's time on every kit image and source. On the
smallest images trivy's whole run is 0.18-0.3 s, and most of ours is the Python process itself.
This prints, per image and source, interleaved as ``kit_sbom.py`` runs them:

* ``trivy``: trivy's cold run, and ``0.7x`` of it (the issue's target);
* ``cold``: ours, empty cache;
* ``warm``: ours with the inventory cached (no layer opened: start-up, source resolution, cache
  read, output), a floor no cold run can go below;
* and once: ``python -c pass``, a bare typer app with one command (the CLI framework alone), and
  ``wharfinger --version``.

Where ``warm`` is above ``0.7x``, the target is below what this process costs before it reads a layer.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kit_sbom  # the kit's commands and measurement, shared

_BARE_TYPER = """
import typer
app = typer.Typer()
@app.command()
def sbom(source: str, output: str = "json") -> None:
    print(source, output)
@app.command()
def version() -> None:
    pass
app()
"""


def median_seconds(argv: list[str], env: dict[str, str] | None, runs: int, *, rt: bool) -> float:
    return statistics.median(kit_sbom.measure(argv, env or {}, rt=rt)[0] for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rt", action="store_true", help="run each process under chrt -f 20 (root)")
    parser.add_argument("--images", default="go-bin,deb-min")
    parser.add_argument("--sources", default="archive,oci,registry")
    options = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(kit_sbom.ROOT / "src")], check=True)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(kit_sbom.ROOT / "src")}
    with tempfile.TemporaryDirectory(prefix="wh-floor-") as tmp:
        bare = Path(tmp) / "bare_typer.py"
        bare.write_text(_BARE_TYPER)
        floors = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "bare typer app, one command": [sys.executable, str(bare), "sbom", "x"],
            "wharfinger --version": [sys.executable, "-m", "wharfinger", "--version"],
        }
        print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; runs {options.runs}; rt {options.rt}")
        for name, argv in floors.items():
            print(f"- {name}: {median_seconds(argv, env, options.runs, rt=options.rt) * 1000:.0f} ms")
    print("\n| image | source | trivy (s) | 0.7x trivy (s) | cold (s) | warm (s) | warm above target |")
    print("|---|---|---|---|---|---|---|")
    for image in options.images.split(","):
        for source in options.sources.split(","):
            with tempfile.TemporaryDirectory(prefix="wh-floor-") as tmp:
                scratch = Path(tmp)
                cmds = kit_sbom.commands(image, source, scratch)
                times: dict[str, list[float]] = {"trivy": [], "wharfinger": []}
                files = kit_sbom.image_files(image, source)
                for _ in range(options.runs):
                    for tool, samples in times.items():
                        kit_sbom.fresh_caches(scratch)
                        kit_sbom.warm_page_cache(files)
                        argv, tool_env = cmds[tool]
                        samples.append(kit_sbom.measure(argv, tool_env, rt=options.rt)[0])
                argv, tool_env = cmds["wharfinger"]
                kit_sbom.measure(argv, tool_env, rt=options.rt)  # fills the cache
                warm = median_seconds(argv, tool_env, options.runs, rt=options.rt)
            trivy, cold = statistics.median(times["trivy"]), statistics.median(times["wharfinger"])
            print(
                f"| {image} | {source} | {trivy:.3f} | {0.7 * trivy:.3f} | {cold:.3f} | {warm:.3f} | "
                f"{'yes' if warm > 0.7 * trivy else 'no'} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
