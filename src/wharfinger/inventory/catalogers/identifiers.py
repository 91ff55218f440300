"""purls and CPEs for language packages, and CPEs for OS packages, built one way for every cataloger.

purls follow the purl specification's rules per type (``pkg:pypi`` names are PEP 503-normalised,
``pkg:npm`` scopes become the namespace and are percent-encoded, ``pkg:maven`` takes the groupId as
namespace, ``pkg:golang`` splits the module path). CPEs are CPE 2.3 formatted strings with the
characters the specification reserves escaped.

OS packages (dpkg, apk, rpm) get CPEs as syft guesses them (``cpegen``): the product is the
package's name or its source package's (``openssl`` for ``libssl3``), also without a language
prefix (apk's ``py3-``, ``ruby-``) and with ``_`` for ``-``; the vendor is the product itself, as
the NVD names most upstream projects. Syft pairs every vendor candidate with every product
candidate; we keep the pairs where both agree and at most ``MAX_OS_CPES`` of them, so an SBOM of
a Debian image does not carry dozens of guesses per package. Vulnerability matching does not use
them (it matches by purl and ecosystem); they are for SBOM consumers that look up the NVD.
"""

from __future__ import annotations

import re

from packageurl import PackageURL

from wharfinger.inventory.package import Location, Package, PackageType

__all__ = ["MAX_OS_CPES", "cpe23", "language_package", "normalise_pypi_name", "os_package_cpes", "purl_for"]

_PEP503 = re.compile(r"[-_.]+")
_CPE_SPECIAL = re.compile(r"([^A-Za-z0-9_.\-])")

MAX_OS_CPES = 4  # CPE guesses per OS package: name, source, and their variants
# Prefixes that put an upstream project into a distro's language namespace (syft strips them for apk).
_LANGUAGE_PREFIXES = ("py-", "py2-", "py3-", "ruby-")


def normalise_pypi_name(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, lower case."""
    return _PEP503.sub("-", name).lower()


def purl_for(
    type_: PackageType,
    name: str,
    version: str,
    *,
    namespace: str | None = None,
    qualifiers: dict[str, str] | None = None,
    subpath: str | None = None,
) -> str:
    """The purl of a language package; ``name`` may carry an npm scope or a Go module path."""
    if type_ is PackageType.PYPI:
        name = normalise_pypi_name(name)
    elif type_ is PackageType.NPM and name.startswith("@") and "/" in name and namespace is None:
        namespace, name = name.split("/", 1)
    elif type_ is PackageType.GOLANG and "/" in name and namespace is None:
        namespace, name = name.rsplit("/", 1)
    elif type_ is PackageType.COMPOSER and "/" in name and namespace is None:
        namespace, name = name.split("/", 1)
    purl = PackageURL(
        type=type_.value,
        namespace=namespace or None,
        name=name,
        version=version or None,
        qualifiers=qualifiers or None,
        subpath=subpath,
    )
    return str(purl.to_string())


def _cpe_part(value: str) -> str:
    value = value.strip().lower().replace(" ", "_")
    return _CPE_SPECIAL.sub(r"\\\1", value) if value else "*"


def cpe23(vendor: str, product: str, version: str, *, target_sw: str = "*") -> str:
    """``cpe:2.3:a:vendor:product:version:*:*:*:*:target_sw:*:*`` with reserved characters escaped."""
    return (
        f"cpe:2.3:a:{_cpe_part(vendor)}:{_cpe_part(product)}:{_cpe_part(version)}"
        f":*:*:*:*:{_cpe_part(target_sw) if target_sw != '*' else '*'}:*:*"
    )


def os_package_cpes(name: str, version: str, *, source_name: str | None = None) -> tuple[str, ...]:
    """CPE guesses for an OS package, most likely first (see the module docstring)."""
    products: list[str] = []
    for candidate in (name.lower(), (source_name or "").lower()):
        if candidate:
            products.append(candidate)
            products += [candidate.removeprefix(p) for p in _LANGUAGE_PREFIXES if candidate.startswith(p)]
    products += [p.replace("-", "_") for p in products]
    unique = [p for p in dict.fromkeys(products) if p]
    return tuple(cpe23(product, product, version) for product in unique[:MAX_OS_CPES])


def language_package(
    *,
    name: str,
    version: str,
    type_: PackageType,
    location: Location,
    purl: str | None = None,
    cpes: tuple[str, ...] = (),
    licenses: tuple[str, ...] = (),
    extra_locations: tuple[Location, ...] = (),
    metadata: dict[str, str] | None = None,
) -> Package:
    """A ``Package`` found in ``location``, with the purl built by ``purl_for`` unless given."""
    return Package(
        name=name,
        version=version,
        type=type_,
        purl=purl if purl is not None else purl_for(type_, name, version),
        cpes=cpes,
        licenses=tuple(dict.fromkeys(lic for lic in licenses if lic)),
        layer_digest=location.layer_digest,
        locations=(location, *extra_locations),
        metadata=tuple(sorted((metadata or {}).items())),
    )
