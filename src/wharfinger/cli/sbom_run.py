"""What ``wharfinger sbom`` does, without typer: the inventory of a source, and the SBOM written.

``cli.sbom`` is the typer command; ``cli.fastpath`` calls ``run_sbom`` directly for the usual command
lines, so a cold ``sbom`` does not import typer (~20 ms of go-bin's 0.15 s). ``scan`` shares
``inventory_for``. Nothing here may import typer or ``cli.options``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from wharfinger.cli.registry_flags import registry_settings

if TYPE_CHECKING:
    from pathlib import Path

    from wharfinger.inventory.catalog import Inventory
    from wharfinger.oci.settings import Settings
    from wharfinger.oci.sources import ImageSource, ResolvedImage
    from wharfinger.sbom import SbomSubject

__all__ = ["CYCLONEDX_MEDIA_TYPE", "inventory_for", "run_sbom"]

log = logging.getLogger("wharfinger.cli.sbom")

CYCLONEDX_MEDIA_TYPE = "application/vnd.cyclonedx+json"  # the artifact type syft/oras/cosign use for CycloneDX


def _attach(source: ImageSource, image: ResolvedImage, inventory: Inventory, subject: SbomSubject) -> None:
    """Push the CycloneDX SBOM as an OCI 1.1 referrer of the image manifest."""
    from wharfinger.clock import SystemClock
    from wharfinger.oci.referrers import attach_artifact
    from wharfinger.oci.registry_source import RegistrySource
    from wharfinger.sbom import render_sbom

    assert isinstance(source, RegistrySource)  # noqa: S101  # checked by the caller: REGISTRY specs only
    now = SystemClock().now()
    document = render_sbom(inventory, "cyclonedx-json", subject, now=now).encode()
    pushed = attach_artifact(
        source.client,
        source.repository,
        image.manifest_descriptor,
        CYCLONEDX_MEDIA_TYPE,
        [(CYCLONEDX_MEDIA_TYPE, document)],
        annotations={"org.opencontainers.image.created": now.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )
    log.warning(
        "SBOM attached to %s as %s",
        image.digest,
        pushed.digest,
        extra={"event": "sbom.attached", "digest": pushed.digest},
    )


def inventory_for(
    source_text: str,
    platform_text: str | None,
    *,
    use_cache: bool,
    settings: Settings | None = None,
    attach: bool = False,
    catalogers: str | None = None,
) -> tuple[Inventory, SbomSubject]:
    """``inventory.sources.inventory_of_source`` plus ``--attach``; ``scan`` calls it too."""
    from wharfinger.cli.process import tune_for_batch
    from wharfinger.errors import InputError
    from wharfinger.inventory.cataloger import CatalogerSelection
    from wharfinger.inventory.sources import inventory_of_source
    from wharfinger.oci.settings import Settings
    from wharfinger.oci.sources import SourceKind, parse_source

    try:
        selection = CatalogerSelection(catalogers.lower()) if catalogers else None
    except ValueError:
        choices = ", ".join(s.value for s in CatalogerSelection)
        raise InputError(f"--catalogers {catalogers!r} is not a selection", hint=f"use one of: {choices}") from None
    settings = settings if settings is not None else Settings.from_env()
    tune_for_batch()  # a one-shot command's layer walk: see cli/process.py
    if attach:
        spec = parse_source(source_text)
        if spec.kind is not SourceKind.REGISTRY:
            what = "a local" if spec.is_image else "a"
            raise InputError(
                f"--attach pushes the SBOM to a registry, and {spec.text!r} is {what} {spec.kind.value} source",
                hint="name the image by its registry reference, or write the SBOM with -o cyclonedx-json=FILE",
            )
    from contextlib import nullcontext

    from wharfinger.cli.progress import transfer_bar

    pulling = parse_source(source_text).kind is SourceKind.REGISTRY  # a bar only where layers cross the network
    with transfer_bar(f"pulling {source_text}") if pulling else nullcontext(None) as progress:
        return inventory_of_source(
            source_text,
            settings=settings,
            platform=platform_text,
            use_cache=use_cache,
            while_open=_attach if attach else None,
            progress=progress,
            catalogers=selection,
        )


def run_sbom(
    source: str,
    output: list[str] | None = None,
    *,
    platform: str | None = None,
    no_cache: bool = False,
    attach: bool = False,
    catalogers: str | None = None,
    insecure: list[str] | None = None,
    ca_bundle: Path | None = None,
    http2: bool = False,
) -> None:
    """``wharfinger sbom``: list every OS and language package in SOURCE, with the layer that brought it."""
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.clock import SystemClock
    from wharfinger.sbom import SBOM_FORMATS, render_sbom

    targets = parse_outputs(output, allowed=SBOM_FORMATS, default="table")
    settings = registry_settings(insecure, ca_bundle, http2=http2)
    inventory, subject = inventory_for(
        source, platform, use_cache=not no_cache, settings=settings, attach=attach, catalogers=catalogers
    )
    for warning in inventory.warnings[:20]:
        log.warning("%s", warning, extra={"event": "sbom.warning"})
    if len(inventory.warnings) > 20:  # noqa: PLR2004 -- a flood of warnings helps nobody
        log.warning("%d more warnings", len(inventory.warnings) - 20, extra={"event": "sbom.warning"})
    now = SystemClock().now()
    write_outputs(targets, lambda fmt: render_sbom(inventory, fmt, subject, now=now))
