"""``wharfinger demo``: the quick start's main job on the demo image bundled with the package.

The job is ``scan``: the bundled demo image against the bundled demo database (real advisories for
its Debian 12 packages, built into the cache directory on first use), offline. No gate is set
unless ``--fail-on`` is given, so the quick start ends with exit 0 and a table of findings.
"""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["DEMO_TAG", "demo_layout", "register"]

DEMO_TAG = "1.0"


def register(app: typer.Typer) -> None:
    app.command("demo", help="Run the main job on the bundled demo image (no network, no setup).")(demo_command)


def demo_layout() -> str:
    """The ``oci:`` source of the bundled demo image."""
    from importlib.resources import files

    from wharfinger.errors import LayoutError

    layout = files("wharfinger.demo") / "image"
    if not layout.joinpath("index.json").is_file():
        raise LayoutError(
            "the bundled demo image is missing from this installation",
            hint="reinstall wharfinger, or regenerate it with scripts/make-demo-image",
        )
    return f"oci:{layout}:{DEMO_TAG}"


def demo_command(
    platform: Annotated[str | None, typer.Option("--platform", help="linux/amd64 or linux/arm64.")] = None,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--output",
            help="FORMAT[=FILE], repeatable: table (default), json, sarif, cyclonedx-vex, openvex, html.",
        ),
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option("--fail-on", help="Exit 1 at or above this severity: critical, high, medium, low.")
    ] = None,
) -> None:
    import os
    from pathlib import Path

    from wharfinger.cli.scan import scan
    from wharfinger.clock import SystemClock
    from wharfinger.vulndb.demo import demo_cache_dir, demo_database

    database = demo_database(demo_cache_dir(os.environ, Path.home()), now=SystemClock().now())
    scan(demo_layout(), output=output, fail_on=fail_on, db=database, offline=True, platform=platform)
