"""``wharfinger demo``: the quick start's main job on the demo image bundled with the package.

For now that job is ``inspect``; it becomes ``scan`` once scanning lands.
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
        list[str] | None, typer.Option("-o", "--output", help="FORMAT[=FILE], repeatable: table (default), json.")
    ] = None,
) -> None:
    from wharfinger.cli.inspect import run_inspect

    run_inspect(demo_layout(), platform=platform, outputs=output)
