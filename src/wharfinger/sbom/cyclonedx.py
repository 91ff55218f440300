"""CycloneDX 1.6 JSON: written directly (schema-checked with ``cyclonedx-python-lib``), read from any producer.

Writing: the subject is ``metadata.component`` (a ``container`` for images), the distro an
``operating-system`` component, every package a ``library`` with its purl, CPE, licenses (one SPDX
expression when all are valid, named licenses otherwise) and ``wharfinger:*`` properties for the
layer, locations and source package. The serial number is derived from the content, so the same
inventory at the same time gives the same bytes.

Reading: components (nested ones too) with a purl whose type Wharfinger knows; the layer and file
locations are taken from syft's (``syft:location:N:layerID``) and trivy's
(``aquasecurity:trivy:LayerDigest``) properties as well as ours.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from wharfinger import __version__
from wharfinger.errors import SbomFormatError
from wharfinger.inventory.catalog import Inventory
from wharfinger.inventory.licenses import spdx_expression
from wharfinger.inventory.package import Distro, Location, Package
from wharfinger.sbom._json import dumps_indented
from wharfinger.sbom.purls import package_from_purl
from wharfinger.sbom.subject import SbomSubject

__all__ = ["license_choice", "parse_cyclonedx_json", "render_cyclonedx_json"]

_NAMESPACE = uuid.UUID("9a0f5a0e-5d1c-4b43-9d7e-2f3a6c2b8e11")  # Wharfinger's uuid5 namespace for serial numbers


def license_choice(package: Package) -> tuple[str | None, tuple[str, ...]]:
    """(one SPDX expression, no names) when every license of the package is valid SPDX, else (None, the
    licenses as written): CycloneDX allows one ``expression`` or a list of licenses, never both."""
    expressions = [spdx_expression(lic) for lic in package.licenses]
    if package.licenses and all(expressions):
        joined = " AND ".join(f"({e})" if " " in str(e) else str(e) for e in dict.fromkeys(expressions))
        return spdx_expression(joined) or joined, ()
    return None, package.licenses


def _component(package: Package, ref: str) -> dict[str, Any]:
    expression, names = license_choice(package)
    licenses: list[dict[str, Any]] = (
        [{"expression": expression}] if expression else [{"license": {"name": name}} for name in names]
    )
    component: dict[str, Any] = {
        "type": "library",
        "bom-ref": ref,
        "name": package.name,
        "version": package.version,
        "purl": package.purl,
    }
    if package.cpes:
        component["cpe"] = package.cpes[0]
    if licenses:
        component["licenses"] = licenses
    component["properties"] = [{"name": k, "value": v} for k, v in _properties(package)]
    return component


def render_cyclonedx_json(inventory: Inventory, subject: SbomSubject, *, now: datetime) -> str:
    # Written as plain JSON, not through cyclonedx-python-lib's model and JsonV1Dot6: measured on the
    # same inventories (benchmarks/cyclonedx_render.py, docs/benchmarks.md "CycloneDX writer") the
    # library takes ~0.85 s for 1,000 packages (this: ~50 ms) and ~85 ms for 122 (this: ~8 ms), plus
    # ~35 ms to import. Its cost is structural: every collection is a SortedSet ordered by Python-level
    # comparison tuples rebuilt on each comparison, Bom.validate() (called by the outputter) scans the
    # dependency list once per component, and py_serializable walks each object's ~35 properties and
    # serialises every license to a string and back. The tests validate this output against the
    # CycloneDX 1.6 schema the library ships and read it back with the library (Bom.from_json).
    root: dict[str, Any] = {
        "type": "container" if subject.kind == "image" else "file",
        "bom-ref": "subject",
        "name": subject.name,
    }
    if subject.digest:
        root["version"] = subject.digest
    if subject.platform:
        root["properties"] = [{"name": "wharfinger:platform", "value": subject.platform}]
    components: list[dict[str, Any]] = []
    if inventory.distro is not None:
        distro = inventory.distro
        os_component: dict[str, Any] = {
            "type": "operating-system",
            "bom-ref": f"os:{distro.id}",
            "name": distro.id,
        }
        if distro.version_id:
            os_component["version"] = distro.version_id
        if distro.pretty_name:
            os_component["description"] = distro.pretty_name
        components.append(os_component)
    seen_refs: set[str] = set()
    for package in inventory.packages:
        ref = package.purl
        counter = 1
        while ref in seen_refs:  # the same purl found twice (two copies of a jar): refs must be unique
            counter += 1
            ref = f"{package.purl}#{counter}"
        seen_refs.add(ref)
        components.append(_component(package, ref))
    import hashlib  # noqa: PLC0415 -- hashlib's OpenSSL binding costs SBOM reading (every scan) ~3 ms; only writers hash

    content = hashlib.sha256(
        json.dumps([subject.name, subject.digest, now.isoformat(), [p.purl for p in inventory.packages]]).encode()
    ).hexdigest()
    document = {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid5(_NAMESPACE, content)}",
        "version": 1,
        "metadata": {
            "timestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {"components": [{"type": "application", "name": "wharfinger", "version": __version__}]},
            "component": root,
        },
        "components": components,
        "dependencies": [
            {"ref": "subject", "dependsOn": [c["bom-ref"] for c in components]},
            *({"ref": c["bom-ref"]} for c in components),
        ],
    }
    return dumps_indented(document) + "\n"


def _properties(package: Package) -> Iterator[tuple[str, str]]:
    yield "wharfinger:package:type", package.type.value
    if package.layer_digest:
        yield "wharfinger:layerDigest", package.layer_digest
    if package.source_name:
        yield "wharfinger:sourceName", package.source_name
    if package.source_version:
        yield "wharfinger:sourceVersion", package.source_version
    if package.arch:
        yield "wharfinger:arch", package.arch
    for index, location in enumerate(package.locations):
        yield f"wharfinger:location:{index}:path", location.path
        if location.layer_digest:
            yield f"wharfinger:location:{index}:layerDigest", location.layer_digest
    for cpe in package.cpes[1:]:
        yield "wharfinger:cpe", cpe
    for key, value in package.metadata:
        yield f"wharfinger:metadata:{key}", value


def _components(items: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, dict):
            yield item
            yield from _components(item.get("components"))


def _licenses(component: dict[str, Any]) -> tuple[str, ...]:
    found: list[str] = []
    for entry in component.get("licenses") or []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("expression"), str):
            found.append(entry["expression"])
        license_obj = entry.get("license")
        if isinstance(license_obj, dict):
            value = license_obj.get("id") or license_obj.get("name")
            if isinstance(value, str):
                found.append(value)
    return tuple(dict.fromkeys(found))


def _distro(components: list[dict[str, Any]]) -> Distro | None:
    for component in components:
        if component.get("type") == "operating-system" and isinstance(component.get("name"), str):
            version = component.get("version")
            return Distro(
                id=component["name"].lower(),
                version_id=version if isinstance(version, str) and version else None,
                pretty_name=component.get("description") if isinstance(component.get("description"), str) else None,
            )
    return None


def parse_cyclonedx_json(document: dict[str, Any]) -> Inventory:
    """An ``Inventory`` from a CycloneDX JSON document (any 1.x version, any producer)."""
    if document.get("bomFormat") != "CycloneDX":
        raise SbomFormatError("not a CycloneDX document", hint='expected "bomFormat": "CycloneDX"')
    components = list(_components(document.get("components")))
    distro = _distro(components)
    packages: list[Package] = []
    skipped = 0
    for component in components:
        purl = component.get("purl")
        if not isinstance(purl, str):
            continue
        properties: dict[str, str] = {}
        locations: list[Location] = []
        paths: dict[str, str] = {}
        layers: dict[str, str] = {}
        cpes = [component["cpe"]] if isinstance(component.get("cpe"), str) else []
        for prop in component.get("properties") or []:
            if not isinstance(prop, dict) or not isinstance(prop.get("name"), str):
                continue
            name, value = prop["name"], str(prop.get("value", ""))
            properties.setdefault(name, value)
            if name in {"wharfinger:cpe", "syft:cpe23"}:  # the CPEs after the first (`cpe` holds one)
                cpes.append(value)
            parts = name.split(":")
            if len(parts) == 4 and parts[1] == "location" and parts[0] in {"wharfinger", "syft"}:  # noqa: PLR2004
                key = parts[2]
                if parts[3] == "path":
                    paths[key] = value
                elif parts[3] in {"layerDigest", "layerID"}:
                    layers[key] = value
        locations = [Location(path=paths[k], layer_digest=layers.get(k)) for k in paths]
        if not locations and (trivy_path := properties.get("aquasecurity:trivy:FilePath")):
            locations = [
                Location(
                    path="/" + trivy_path.lstrip("/"), layer_digest=properties.get("aquasecurity:trivy:LayerDigest")
                )
            ]
        package = package_from_purl(
            purl,
            version=component.get("version") if isinstance(component.get("version"), str) else None,
            licenses=_licenses(component),
            cpes=tuple(dict.fromkeys(cpes)),
            layer_digest=properties.get("wharfinger:layerDigest")
            or properties.get("aquasecurity:trivy:LayerDigest")
            or next(iter(layers.values()), None),
            source_name=properties.get("wharfinger:sourceName") or properties.get("aquasecurity:trivy:SrcName"),
            source_version=properties.get("wharfinger:sourceVersion")
            or properties.get("aquasecurity:trivy:SrcVersion"),
            locations=tuple(locations),
        )
        if package is None:
            skipped += 1
            continue
        packages.append(package)
    warnings = (
        (f"{skipped} component(s) without a version or with a purl type Wharfinger does not inventory were skipped",)
        if skipped
        else ()
    )
    return Inventory(distro=distro, packages=tuple(packages), warnings=warnings)
