"""SBOMs: render an ``Inventory`` as table, Wharfinger JSON, CycloneDX 1.6 or SPDX 2.3; read them back.

from wharfinger.sbom import SbomSubject, parse_sbom, render_sbom
text = render_sbom(inventory, "cyclonedx-json", SbomSubject(name="dir:/rootfs", kind="directory"), now=now)
again = parse_sbom(text.encode())
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from wharfinger.errors import InputError

if TYPE_CHECKING:
    from wharfinger.inventory.catalog import Inventory
from wharfinger.sbom.reader import parse_sbom
from wharfinger.sbom.subject import SbomSubject

__all__ = ["SBOM_FORMATS", "SbomSubject", "parse_sbom", "render_sbom"]

SBOM_FORMATS = ("table", "json", "cyclonedx-json", "spdx-json")


def render_sbom(inventory: Inventory, output_format: str, subject: SbomSubject, *, now: datetime) -> str:
    """The inventory in ``output_format`` (one of ``SBOM_FORMATS``)."""
    if output_format == "table":
        from wharfinger.sbom.table import render_table  # noqa: PLC0415 -- each format loads only itself

        return render_table(inventory)
    if output_format == "json":
        from wharfinger.sbom.native import render_native_json  # noqa: PLC0415

        return render_native_json(inventory, subject, now=now)
    if output_format == "cyclonedx-json":
        from wharfinger.sbom.cyclonedx import render_cyclonedx_json  # noqa: PLC0415

        return render_cyclonedx_json(inventory, subject, now=now)
    if output_format == "spdx-json":
        from wharfinger.sbom.spdx import render_spdx_json  # noqa: PLC0415

        return render_spdx_json(inventory, subject, now=now)
    raise InputError(f"unknown SBOM format {output_format!r}", hint=f"choose one of: {', '.join(SBOM_FORMATS)}")
