"""A ``Package`` from a purl and what an SBOM says beside it (name, version, licenses, layer).

Names follow the catalogers' convention: npm scopes, Go module paths and composer vendors are
part of the name (``@types/node``, ``github.com/x/y``, ``laravel/framework``); Maven keeps the
artifactId as name and the groupId in the purl. OS versions get the epoch back from the purl's
``epoch`` qualifier when the SBOM left it out (``1:2.3-4``), so a deb read from syft, trivy or
Wharfinger compares equal.
"""

from __future__ import annotations

from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["package_from_purl"]

_WITH_NAMESPACE_IN_NAME = {PackageType.NPM, PackageType.GOLANG, PackageType.COMPOSER}
_OS_TYPES = {PackageType.DEB, PackageType.RPM, PackageType.APK}


def package_from_purl(
    purl: str,
    *,
    version: str | None = None,
    licenses: tuple[str, ...] = (),
    cpes: tuple[str, ...] = (),
    layer_digest: str | None = None,
    source_name: str | None = None,
    source_version: str | None = None,
    locations: tuple[Location, ...] = (),
) -> Package | None:
    """None when the purl is invalid or of a type Wharfinger does not inventory (``pkg:generic``…)."""
    from packageurl import PackageURL  # noqa: PLC0415 -- only SBOM input pays for it

    try:
        parsed = PackageURL.from_string(purl)
        package_type = PackageType(parsed.type)
    except ValueError:
        return None
    qualifiers = parsed.qualifiers if isinstance(parsed.qualifiers, dict) else {}
    if package_type in _WITH_NAMESPACE_IN_NAME and parsed.namespace:
        purl_name = f"{parsed.namespace}/{parsed.name}"
    else:
        purl_name = parsed.name
    resolved_version = version or parsed.version or ""
    epoch = qualifiers.get("epoch")
    if package_type in _OS_TYPES and epoch and epoch != "0" and not resolved_version.startswith(f"{epoch}:"):
        resolved_version = f"{epoch}:{resolved_version}"
    upstream = qualifiers.get("upstream")
    if upstream and source_name is None:
        if package_type is PackageType.RPM and upstream.endswith(".rpm"):
            stem = upstream.removesuffix(".rpm").rsplit(".", 1)[0].rsplit("-", 2)
            source_name = stem[0]
            source_version = source_version or (f"{stem[1]}-{stem[2]}" if len(stem) == 3 else None)  # noqa: PLR2004
        else:
            source_name, _, at_version = upstream.partition("@")
            source_version = source_version or at_version or None
    if not resolved_version:
        return None
    return Package(
        name=purl_name,  # not the SBOM's name: trivy writes Maven names as "group:artifact", syft as "artifact"
        version=resolved_version,
        type=package_type,
        purl=purl,
        cpes=cpes,
        licenses=licenses,
        source_name=source_name,
        source_version=source_version,
        arch=qualifiers.get("arch"),
        layer_digest=layer_digest,
        locations=locations,
    )
