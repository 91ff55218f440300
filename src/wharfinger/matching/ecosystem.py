"""Which OSV ecosystem and package name an installed ``Package`` is looked up under.

Language packages map by purl type (``pypi`` → ``PyPI``, ``golang`` → ``Go`` …). OS packages
need their distribution *release*: a Debian 12 package is looked up in ``Debian:12`` and never
in ``Debian:11`` (bookworm ≠ bullseye), an Alpine 3.19 one in ``Alpine:v3.19``. The release
comes from the purl's ``distro`` qualifier (syft and trivy write ``distro=debian-12``) or from
the image's ``Distro``. Distro advisories are per *source* package (dpkg ``Source:``, apk
``origin``, the source RPM), so that is the name used, with the binary name as well for RPM
distributions whose OVAL feeds list binary packages.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from wharfinger.inventory.package import Distro, Package, PackageType
from wharfinger.vulndb.ecosystems import name_key

__all__ = ["Lookup", "UnmatchableError", "distro_from_purl", "lookup_for", "normalize_name"]

_LANGUAGE_ECOSYSTEMS: dict[PackageType, str] = {
    PackageType.PYPI: "PyPI",
    PackageType.NPM: "npm",
    PackageType.GOLANG: "Go",
    PackageType.MAVEN: "Maven",
    PackageType.GEM: "RubyGems",
    PackageType.CARGO: "crates.io",
    PackageType.NUGET: "NuGet",
    PackageType.COMPOSER: "Packagist",
}

_PURL_TYPES = frozenset(t.value for t in PackageType)
_DEBIAN_CODENAMES = {"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13"}


class UnmatchableError(Exception):
    """A package cannot be looked up; the message is the reason recorded as "skipped"."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Lookup:
    """Where to look a package up: ecosystems in order of preference, names, and the version."""

    ecosystems: tuple[str, ...]
    names: tuple[str, ...]
    version: str
    via_source: bool  # the name is the distro source package, not the binary one


def normalize_name(ecosystem: str, name: str) -> str:
    """The spelling both sides of a lookup use (PEP 503 for PyPI, case-folded where the package
    manager ignores case): vulndb's ``name_key``, so the database and the matcher agree."""
    return name_key(ecosystem, name)


def _purl_parts(purl: str) -> tuple[str, str | None, dict[str, str]]:
    """(type, namespace, qualifiers) of a purl, tolerant of the odd spellings other tools write."""
    body = purl.removeprefix("pkg:")
    body, _, qualifier_text = body.partition("?")
    qualifier_text = qualifier_text.partition("#")[0]
    path = body.partition("@")[0]
    segments = [unquote(s) for s in path.split("/")]
    qualifiers = {}
    for pair in filter(None, qualifier_text.split("&")):
        key, _, value = pair.partition("=")
        qualifiers[key.lower()] = unquote(value)
    namespace = "/".join(segments[1:-1]) or None
    return segments[0].lower(), namespace, qualifiers


def distro_from_purl(purl: str) -> Distro | None:
    """The ``distro=`` qualifier (``debian-12``, ``alpine-3.19.1``, ``azurelinux-3.0``) as a ``Distro``."""
    _, _, qualifiers = _purl_parts(purl)
    text = qualifiers.get("distro")
    if not text:
        return None
    distro_id, dash, version = text.rpartition("-")
    if not dash or not distro_id:
        if text in _DEBIAN_CODENAMES:
            return Distro(id="debian", version_id=_DEBIAN_CODENAMES[text], codename=text)
        return Distro(id=text)
    if version in _DEBIAN_CODENAMES:
        return Distro(id=distro_id, version_id=_DEBIAN_CODENAMES[version], codename=version)
    return Distro(id=distro_id, version_id=version)


def _parts(version: str | None, count: int) -> str | None:
    if not version:
        return None
    numbers = version.split(".")
    return ".".join(numbers[:count]) if len(numbers) >= count else None


def distro_ecosystems(distro: Distro) -> tuple[str, ...]:
    """OSV ecosystem names of a distribution release, most specific first."""
    distro_id = distro.id.lower()
    version = distro.version_id or _DEBIAN_CODENAMES.get(distro.codename or "")
    major, major_minor = _parts(version, 1), _parts(version, 2)
    if distro_id == "debian" and major:
        return (f"Debian:{major}",)
    if distro_id == "ubuntu" and major_minor:
        return (f"Ubuntu:{major_minor}:LTS", f"Ubuntu:{major_minor}")
    if distro_id == "alpine" and major_minor:
        return (f"Alpine:v{major_minor}",)
    if distro_id == "wolfi":
        return ("Wolfi",)
    if distro_id == "chainguard":
        return ("Chainguard",)
    if distro_id == "azurelinux" and major:
        return (f"Azure Linux:{major}", f"Azure Linux:{major}.0")
    if distro_id in ("mariner", "cbl-mariner") and major:
        return (f"Mariner:{major}", f"Mariner:{major_minor}")  # vulndb writes "Mariner:2" from the OVAL file name
    if distro_id in ("rhel", "redhat") and major:
        return (f"Red Hat:{major}",)
    if distro_id == "rocky" and major:
        return (f"Rocky Linux:{major}",)
    if distro_id in ("almalinux", "alma") and major:
        return (f"AlmaLinux:{major}",)
    if distro_id in ("sles", "suse") and version:
        return (f"SUSE:{version}",)
    if distro_id in ("opensuse-leap", "opensuse") and version:
        return (f"openSUSE:Leap {version}",)
    raise UnmatchableError(f"no vulnerability data source for distribution {distro.id} {version or '(no release)'}")


def _rpm_version(package: Package) -> str:
    metadata = dict(package.metadata)
    epoch = metadata.get("epoch")
    if epoch and epoch != "0" and ":" not in package.version:
        return f"{epoch}:{package.version}"
    return package.version


def lookup_for(package: Package, distro: Distro | None = None) -> Lookup:
    """Where ``package`` is looked up; ``UnmatchableError`` says why it cannot be."""
    if not package.version:
        raise UnmatchableError("the package has no version")
    purl_type, namespace, _ = _purl_parts(package.purl) if package.purl else (package.type.value, None, {})
    ecosystem = _LANGUAGE_ECOSYSTEMS.get(package.type)
    if ecosystem is None and purl_type in _PURL_TYPES:  # e.g. a Go binary catalogued as "binary"
        ecosystem = _LANGUAGE_ECOSYSTEMS.get(PackageType(purl_type))
    if ecosystem is not None:
        name = package.name
        if ecosystem == "Maven" and ":" not in name and namespace:
            name = f"{namespace}:{name}"
        elif namespace and (
            (ecosystem == "npm" and not name.startswith("@"))
            or (ecosystem == "Go" and "/" not in name and name != "stdlib")
        ):
            name = f"{namespace}/{name}"
        return Lookup(
            ecosystems=(ecosystem,), names=(normalize_name(ecosystem, name),), version=package.version, via_source=False
        )
    if package.type in (PackageType.DEB, PackageType.RPM, PackageType.APK):
        release = (distro_from_purl(package.purl) if package.purl else None) or distro
        if release is None:
            raise UnmatchableError("an OS package without a known distribution release")
        ecosystems = distro_ecosystems(release)
        source = package.source_name or package.name
        names = (source,) if package.type is not PackageType.RPM else tuple(dict.fromkeys((source, package.name)))
        if package.type is PackageType.RPM:
            version = _rpm_version(package)
        else:
            version = package.source_version or package.version
        return Lookup(ecosystems=ecosystems, names=names, version=version, via_source=source != package.name)
    raise UnmatchableError(f"no vulnerability ecosystem for {package.type.value} packages")
