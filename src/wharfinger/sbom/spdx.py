"""SPDX 2.3 JSON: written by hand (the format is small), read from any producer (syft, trivy, us).

Writing: one SPDX package per ``Package`` with its purl (and CPEs) as external references,
``licenseDeclared`` as a valid SPDX expression when the licenses make one and ``LicenseRef-``
entries (with the original text in ``hasExtractedLicensingInfos``) otherwise, and a root package
for the subject that ``CONTAINS`` every package. The namespace is derived from the content.

Reading: packages with a ``purl`` external reference of a type Wharfinger knows.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from wharfinger import __version__
from wharfinger.errors import SbomFormatError
from wharfinger.inventory.catalog import Inventory
from wharfinger.inventory.licenses import spdx_expression
from wharfinger.inventory.package import Package
from wharfinger.sbom._json import dumps_indented
from wharfinger.sbom.purls import package_from_purl
from wharfinger.sbom.subject import SbomSubject

__all__ = ["parse_spdx_json", "render_spdx_json"]

_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")


def _spdx_id(prefix: str, text: str, used: set[str]) -> str:
    base = f"SPDXRef-{prefix}-{_ID_UNSAFE.sub('-', text).strip('-')[:80]}"
    candidate = base
    counter = 1
    while candidate in used:
        counter += 1
        candidate = f"{base}-{counter}"
    used.add(candidate)
    return candidate


class _LicenseRefs:
    """Licenses that are not SPDX ids become ``LicenseRef-`` entries, one per distinct text."""

    def __init__(self) -> None:
        self.by_text: dict[str, str] = {}

    def ref(self, text: str) -> str:
        if text not in self.by_text:
            self.by_text[text] = (
                "LicenseRef-" + (_ID_UNSAFE.sub("-", text).strip("-")[:60] or "unknown") + (f"-{len(self.by_text) + 1}")
            )
        return self.by_text[text]

    def declared(self, licenses: tuple[str, ...]) -> str:
        if not licenses:
            return "NOASSERTION"
        parts = [spdx_expression(text) or self.ref(text) for text in dict.fromkeys(licenses)]
        if len(parts) == 1:
            return parts[0]
        return " AND ".join(f"({p})" if " " in p else p for p in parts)

    def extracted(self) -> list[dict[str, str]]:
        return [{"licenseId": ref, "name": text, "extractedText": text} for text, ref in sorted(self.by_text.items())]


def _package_entry(package: Package, spdx_id: str, licenses: _LicenseRefs) -> dict[str, Any]:
    refs = [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": package.purl}]
    refs += [
        {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": c} for c in package.cpes
    ]
    entry: dict[str, Any] = {
        "name": package.name,
        "SPDXID": spdx_id,
        "versionInfo": package.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": licenses.declared(package.licenses),
        "copyrightText": "NOASSERTION",
        "externalRefs": refs,
    }
    facts = [f"type={package.type.value}"]
    if package.layer_digest:
        facts.append(f"layer={package.layer_digest}")
    facts += [f"location={loc.path}" for loc in package.locations]
    entry["sourceInfo"] = "found by wharfinger: " + "; ".join(facts)
    if package.source_name:
        entry["comment"] = f"source package {package.source_name} {package.source_version or ''}".rstrip()
    return entry


def render_spdx_json(inventory: Inventory, subject: SbomSubject, *, now: datetime) -> str:
    used: set[str] = set()
    licenses = _LicenseRefs()
    root_id = _spdx_id("Image" if subject.kind == "image" else "Directory", subject.name, used)
    root: dict[str, Any] = {
        "name": subject.name,
        "SPDXID": root_id,
        "versionInfo": subject.digest or "NOASSERTION",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "primaryPackagePurpose": "CONTAINER" if subject.kind == "image" else "FILE",
    }
    packages = [root]
    relationships = [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": root_id}
    ]
    if inventory.distro is not None:
        os_id = _spdx_id("OperatingSystem", inventory.distro.id, used)
        packages.append(
            {
                "name": inventory.distro.id,
                "SPDXID": os_id,
                "versionInfo": inventory.distro.version_id or "NOASSERTION",
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": False,
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": "NOASSERTION",
                "copyrightText": "NOASSERTION",
                "primaryPackagePurpose": "OPERATING-SYSTEM",
            }
        )
        relationships.append({"spdxElementId": root_id, "relationshipType": "CONTAINS", "relatedSpdxElement": os_id})
    for package in inventory.packages:
        spdx_id = _spdx_id("Package", f"{package.type.value}-{package.name}-{package.version}", used)
        packages.append(_package_entry(package, spdx_id, licenses))
        relationships.append({"spdxElementId": root_id, "relationshipType": "CONTAINS", "relatedSpdxElement": spdx_id})
    content = hashlib.sha256(
        json.dumps([subject.name, subject.digest, now.isoformat(), [p.purl for p in inventory.packages]]).encode()
    ).hexdigest()
    document: dict[str, Any] = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.name,
        "documentNamespace": f"https://wharfinger.dev/spdx/{content}",
        "creationInfo": {
            "created": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": [f"Tool: wharfinger-{__version__}"],
        },
        "packages": packages,
        "relationships": relationships,
    }
    if licenses.by_text:
        document["hasExtractedLicensingInfos"] = licenses.extracted()
    return dumps_indented(document) + "\n"


def parse_spdx_json(document: dict[str, Any]) -> Inventory:
    """An ``Inventory`` from an SPDX 2.x JSON document (any producer)."""
    if not str(document.get("spdxVersion", "")).startswith("SPDX-2"):
        raise SbomFormatError("not an SPDX 2.x JSON document", hint='expected "spdxVersion": "SPDX-2.3"')
    extracted = {
        e.get("licenseId"): e.get("name") or e.get("extractedText")
        for e in document.get("hasExtractedLicensingInfos") or []
        if isinstance(e, dict)
    }
    packages: list[Package] = []
    skipped = 0
    for entry in document.get("packages") or []:
        if not isinstance(entry, dict):
            continue
        purl = next(
            (
                r.get("referenceLocator")
                for r in entry.get("externalRefs") or []
                if isinstance(r, dict) and r.get("referenceType") == "purl"
            ),
            None,
        )
        if not isinstance(purl, str):
            continue
        cpes = tuple(
            str(r.get("referenceLocator"))
            for r in entry.get("externalRefs") or []
            if isinstance(r, dict) and r.get("referenceType") in {"cpe23Type", "cpe22Type"}
        )
        declared = entry.get("licenseDeclared")
        licenses: tuple[str, ...] = ()
        if isinstance(declared, str) and declared not in {"NOASSERTION", "NONE"}:
            licenses = (str(extracted.get(declared, declared)),)
        version = entry.get("versionInfo")
        package = package_from_purl(
            purl,
            version=version if isinstance(version, str) else None,
            licenses=licenses,
            cpes=cpes,
        )
        if package is None:
            skipped += 1
            continue
        packages.append(package)
    warnings = (
        (f"{skipped} package(s) without a version or with a purl type Wharfinger does not inventory were skipped",)
        if skipped
        else ()
    )
    return Inventory(distro=None, packages=tuple(packages), warnings=warnings)
