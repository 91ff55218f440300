"""``wharfinger sbom SOURCE``: what is inside an image, directory or SBOM, in the format asked for.

The typer command; what it does is ``cli.sbom_run.run_sbom``, which ``cli.fastpath`` also calls
(without typer) for the usual command lines. An option added here must be added to
``cli.fastpath.SBOM_OPTIONS`` too, or such command lines simply take this slower path (a test
holds the two equal).
"""

from __future__ import annotations

from typing import Annotated

import typer

from wharfinger.cli.options import CaBundle, Catalogers, Http2, ImagePlatform, InsecureHosts, NoCache

__all__ = ["register"]

_SOURCE_HELP = (
    "What to inventory: a registry reference, oci:DIR[:TAG|@DIGEST], oci-archive:FILE, "
    "docker-archive:FILE, dir:PATH (a root filesystem) or sbom:FILE (CycloneDX/SPDX/Wharfinger JSON)."
)


def sbom(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP, show_default=False)],
    output: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--output",
            help="FORMAT[=FILE], repeatable: table, json, cyclonedx-json, spdx-json.",
            show_default=False,
        ),
    ] = None,
    platform: ImagePlatform = None,
    no_cache: NoCache = False,
    attach: Annotated[
        bool,
        typer.Option("--attach", help="Push the SBOM (CycloneDX) to the registry as an OCI referrer of the image."),
    ] = False,
    catalogers: Catalogers = None,
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
) -> None:
    """List every OS and language package in SOURCE, with the layer that brought it."""
    from wharfinger.cli.sbom_run import run_sbom

    run_sbom(
        source,
        output,
        platform=platform,
        no_cache=no_cache,
        attach=attach,
        catalogers=catalogers,
        insecure=insecure,
        ca_bundle=ca_bundle,
        http2=http2,
    )


def register(app: typer.Typer) -> None:
    app.command("sbom")(sbom)
