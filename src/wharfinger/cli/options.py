"""Options several commands share, defined once (as sigstore's CLI builds its option groups).

Every command that talks to a registry takes the same three: ``--insecure HOST`` (repeatable),
``--ca-bundle FILE`` and ``--http2``, turned into ``oci.Settings`` by ``registry_settings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from wharfinger.oci.settings import Settings

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


def registry_settings(
    insecure: Sequence[str] | None = None, ca_bundle: Path | None = None, *, http2: bool = False
) -> Settings:
    """``oci.Settings`` from the environment plus the shared registry flags (a flag adds to or wins over its env)."""
    from dataclasses import replace

    from wharfinger.oci.settings import Settings  # here, not at the top: every command's --help imports this module

    settings = Settings.from_env()
    if insecure:
        settings = replace(settings, insecure_hosts=settings.insecure_hosts | frozenset(insecure))
    if ca_bundle is not None:
        settings = replace(settings, ca_bundle=ca_bundle)
    if http2:
        settings = replace(settings, http2=True)
    return settings
