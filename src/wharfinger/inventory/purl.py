"""purls of OS packages, with the distro qualifiers matchers need (``distro=debian-12``)."""

from __future__ import annotations

from packageurl import PackageURL

from wharfinger.inventory.distro import purl_namespace
from wharfinger.inventory.package import Distro, PackageType

__all__ = ["distro_qualifier", "os_package_purl"]


def distro_qualifier(distro: Distro | None) -> str | None:
    """``debian-12``, ``alpine-3.19.1``, ``rhel-9.4``: id and version as syft and trivy write them."""
    if distro is None:
        return None
    return f"{distro.id}-{distro.version_id}" if distro.version_id else distro.id


def os_package_purl(
    package_type: PackageType,
    *,
    distro: Distro | None,
    name: str,
    version: str,
    arch: str | None = None,
    epoch: str | None = None,
    upstream: str | None = None,
    default_namespace: str,
) -> str:
    qualifiers: dict[str, str] = {}
    if arch:
        qualifiers["arch"] = arch
    if (dq := distro_qualifier(distro)) is not None:
        qualifiers["distro"] = dq
    if epoch:
        qualifiers["epoch"] = epoch
    if upstream:
        qualifiers["upstream"] = upstream
    return str(
        PackageURL(
            type=package_type.value,
            namespace=purl_namespace(distro, default_namespace),
            name=name,
            version=version,
            qualifiers=qualifiers or None,
        ).to_string()
    )
