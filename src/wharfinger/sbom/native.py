"""``-o json``: Wharfinger's own SBOM document, specified in ``docs/sbom-json.md``.

It is the lossless form of an ``Inventory``: everything CycloneDX and SPDX carry plus each
package's layer, locations and cataloger metadata, and the warnings of the run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wharfinger import __version__
from wharfinger.errors import SbomFormatError
from wharfinger.inventory.catalog import Inventory
from wharfinger.inventory.codec import distro_from_json, distro_to_json, package_from_json, package_to_json
from wharfinger.sbom._json import dumps_indented
from wharfinger.sbom.subject import SbomSubject

__all__ = ["SCHEMA_ID", "parse_native_json", "render_native_json"]

SCHEMA_ID = "https://wharfinger.dev/schemas/sbom/v1"


def render_native_json(inventory: Inventory, subject: SbomSubject, *, now: datetime) -> str:
    document: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "tool": {"name": "wharfinger", "version": __version__},
        "created": now.isoformat().replace("+00:00", "Z"),
        "subject": {
            "name": subject.name,
            "kind": subject.kind,
            "digest": subject.digest,
            "platform": subject.platform,
        },
        "distro": distro_to_json(inventory.distro),
        "layers": list(inventory.layer_digests),
        "packages": [package_to_json(p) for p in inventory.packages],
        "warnings": list(inventory.warnings),
    }
    return dumps_indented(document) + "\n"


def parse_native_json(document: dict[str, Any]) -> Inventory:
    if document.get("schema") != SCHEMA_ID:
        raise SbomFormatError(
            f"unknown Wharfinger SBOM schema {document.get('schema')!r}", hint=f"expected {SCHEMA_ID}"
        )
    packages = document.get("packages")
    if not isinstance(packages, list):
        raise SbomFormatError("the SBOM has no packages list", hint="check the file against docs/sbom-json.md")
    return Inventory(
        distro=distro_from_json(document.get("distro")),
        packages=tuple(package_from_json(p) for p in packages),
        layer_digests=tuple(str(d) for d in document.get("layers", [])),
        warnings=tuple(str(w) for w in document.get("warnings", [])),
    )
