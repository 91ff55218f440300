"""``Package``/``Inventory`` ⇄ plain JSON values: the layer cache and our ``json`` SBOM share it."""

from __future__ import annotations

from typing import Any

from wharfinger.errors import SbomFormatError
from wharfinger.inventory.package import Distro, Location, Package, PackageType

__all__ = ["distro_from_json", "distro_to_json", "package_from_json", "package_to_json"]


def package_to_json(package: Package) -> dict[str, Any]:
    return {
        "name": package.name,
        "version": package.version,
        "type": package.type.value,
        "purl": package.purl,
        "cpes": list(package.cpes),
        "licenses": list(package.licenses),
        "sourceName": package.source_name,
        "sourceVersion": package.source_version,
        "arch": package.arch,
        "layerDigest": package.layer_digest,
        "locations": [{"path": loc.path, "layerDigest": loc.layer_digest} for loc in package.locations],
        "metadata": dict(package.metadata),
    }


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def package_from_json(value: Any) -> Package:
    """Parse one package object; ``SbomFormatError`` names what is wrong."""
    if not isinstance(value, dict):
        raise SbomFormatError("a package entry is not an object", hint="check the file against docs/sbom-json.md")
    try:
        package_type = PackageType(value["type"])
        name, version, purl = value["name"], value["version"], value["purl"]
        if not all(isinstance(v, str) for v in (name, version, purl)):
            raise TypeError("name, version and purl must be strings")  # noqa: TRY301 -- one handler for all shapes
        locations = tuple(
            Location(path=str(loc["path"]), layer_digest=_str_or_none(loc.get("layerDigest")))
            for loc in value.get("locations", [])
        )
        metadata = value.get("metadata") or {}
        return Package(
            name=name,
            version=version,
            type=package_type,
            purl=purl,
            cpes=tuple(str(c) for c in value.get("cpes", [])),
            licenses=tuple(str(lic) for lic in value.get("licenses", [])),
            source_name=_str_or_none(value.get("sourceName")),
            source_version=_str_or_none(value.get("sourceVersion")),
            arch=_str_or_none(value.get("arch")),
            layer_digest=_str_or_none(value.get("layerDigest")),
            locations=locations,
            metadata=tuple(sorted((str(k), str(v)) for k, v in metadata.items())),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SbomFormatError(
            f"a package entry is malformed: {exc}", hint="check the file against docs/sbom-json.md"
        ) from exc


def distro_to_json(distro: Distro | None) -> dict[str, Any] | None:
    if distro is None:
        return None
    return {
        "id": distro.id,
        "versionId": distro.version_id,
        "codename": distro.codename,
        "prettyName": distro.pretty_name,
        "idLike": list(distro.id_like),
    }


def distro_from_json(value: Any) -> Distro | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        raise SbomFormatError("the distro entry is malformed", hint="check the file against docs/sbom-json.md")
    return Distro(
        id=value["id"],
        version_id=_str_or_none(value.get("versionId")),
        codename=_str_or_none(value.get("codename")),
        pretty_name=_str_or_none(value.get("prettyName")),
        id_like=tuple(str(x) for x in value.get("idLike", [])),
    )
