"""The shared registry flags (``--insecure``, ``--ca-bundle``, ``--http2``; declared in ``cli.options``)
turned into ``oci.Settings``. Without typer: ``cli.fastpath`` runs ``sbom`` without importing it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from wharfinger.oci.settings import Settings

__all__ = ["registry_settings"]


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
