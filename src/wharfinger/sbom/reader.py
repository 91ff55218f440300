"""``sbom:FILE``: any SBOM we can read — CycloneDX JSON, SPDX JSON, Wharfinger JSON — as an ``Inventory``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from wharfinger.errors import SbomFormatError

if TYPE_CHECKING:
    from wharfinger.inventory.catalog import Inventory

__all__ = ["MAX_SBOM_BYTES", "parse_sbom"]

MAX_SBOM_BYTES = 512 * 1024 * 1024  # bytes: the largest SBOM file read


def parse_sbom(data: bytes, *, name: str = "the SBOM") -> Inventory:
    """Detect the format from the document itself and parse it."""
    if len(data) > MAX_SBOM_BYTES:
        raise SbomFormatError(f"{name} is larger than {MAX_SBOM_BYTES} bytes", hint="split or compress the SBOM")
    try:
        document: Any = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SbomFormatError(
            f"{name} is not JSON: {exc}",
            hint="Wharfinger reads CycloneDX JSON, SPDX JSON and its own JSON; convert XML or tag-value first",
        ) from exc
    if not isinstance(document, dict):
        raise SbomFormatError(f"{name} is not a JSON object", hint="an SBOM document is a JSON object")
    if document.get("bomFormat") == "CycloneDX":
        from wharfinger.sbom.cyclonedx import parse_cyclonedx_json  # noqa: PLC0415 -- load one reader only

        return parse_cyclonedx_json(document)
    if "spdxVersion" in document:
        from wharfinger.sbom.spdx import parse_spdx_json  # noqa: PLC0415

        return parse_spdx_json(document)
    if "artifacts" in document and "source" in document:
        raise SbomFormatError(
            f"{name} is syft's own JSON format, which Wharfinger does not read",
            hint="ask syft for a standard format: syft IMAGE -o cyclonedx-json (or spdx-json)",
        )
    if "schema" in document:
        from wharfinger.sbom.native import parse_native_json  # noqa: PLC0415

        return parse_native_json(document)
    raise SbomFormatError(
        f"{name} is neither CycloneDX, SPDX nor a Wharfinger SBOM",
        hint="Wharfinger reads CycloneDX JSON (bomFormat), SPDX 2.x JSON (spdxVersion) and its own JSON (schema)",
    )
