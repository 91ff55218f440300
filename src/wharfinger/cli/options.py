"""Options several commands share, defined once (as sigstore's CLI builds its option groups).

Every command that talks to a registry takes the same three: ``--insecure HOST`` (repeatable),
``--ca-bundle FILE`` and ``--http2``, turned into ``oci.Settings`` by ``registry_settings``
(``cli.registry_flags``, which does not import typer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wharfinger.cli.registry_flags import registry_settings

__all__ = [
    "CaBundle",
    "Catalogers",
    "Http2",
    "ImagePlatform",
    "ImageReference",
    "InsecureHosts",
    "NoCache",
    "registry_settings",
]

# The registry image a command acts on; one help text for all of them.
ImageReference = Annotated[str, typer.Argument(help="Image reference: registry/repo:tag or registry/repo@sha256:…")]

# sbom and scan: which image of a multi-platform index, and whether the inventory cache is used.
ImagePlatform = Annotated[
    str | None, typer.Option("--platform", help="os/arch[/variant] to pick from a multi-platform image.")
]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Ignore and do not fill the inventory cache.")]

# Explicit hosts only (issue #3): never "all registries insecure".
InsecureHosts = Annotated[
    list[str] | None,
    typer.Option("--insecure", help="HOST[:PORT] reached without TLS verification or over plain HTTP (repeatable)."),
]

CaBundle = Annotated[
    Path | None, typer.Option("--ca-bundle", help="PEM file of extra trusted CAs (also $WHARFINGER_CA_BUNDLE).")
]

# A plain string, checked by cli.sbom: the Enum lives with the catalogers, which `--help` need not import.
Catalogers = Annotated[
    str | None,
    typer.Option(
        "--catalogers",
        help="installed, declared (lock files) or all. Default: installed for images, all for dir:.",
        show_default=False,
    ),
]

# Off by default: HTTP/2 pulled layers ~1.6x slower than parallel HTTP/1.1 connections (docs/benchmarks.md).
Http2 = Annotated[bool, typer.Option("--http2", help="Offer HTTP/2 to TLS registries (also $WHARFINGER_HTTP2=1).")]
