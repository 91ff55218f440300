"""``Package``: one installed piece of software found in an image, and where it came from.

Defined once here and passed everywhere: catalogers emit it, ``sbom`` writes and reads it,
``matching`` matches it against advisories, ``scan`` and ``report`` explain findings with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Distro", "Location", "Package", "PackageType"]


class PackageType(StrEnum):
    """The ecosystem a package belongs to; values are purl types where one exists."""

    DEB = "deb"
    RPM = "rpm"
    APK = "apk"
    PYPI = "pypi"
    NPM = "npm"
    GOLANG = "golang"
    MAVEN = "maven"
    GEM = "gem"
    CARGO = "cargo"
    NUGET = "nuget"
    COMPOSER = "composer"
    BINARY = "binary"  # runtimes found outside a package manager (Node.js, Python, OpenJDK)


@dataclass(frozen=True, slots=True, kw_only=True)
class Distro:
    """The operating system of an image, from ``/etc/os-release`` and friends."""

    id: str  # os-release ID: "debian", "ubuntu", "alpine", "rhel", "azurelinux", "mariner", "wolfi" …
    version_id: str | None = None  # "12", "3.19.1", "9.4"
    codename: str | None = None  # "bookworm"
    pretty_name: str | None = None
    id_like: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Location:
    """A file that is evidence for a package, and the layer it was read from."""

    path: str  # absolute path inside the image root, "/var/lib/dpkg/status"
    layer_digest: str | None = None  # "sha256:…"; None for dir: sources and SBOM input


@dataclass(frozen=True, slots=True, kw_only=True)
class Package:
    """An installed package. Equality is identity of the whole record; use ``key`` to dedupe."""

    name: str
    version: str
    type: PackageType
    purl: str  # built with packageurl-python, with distro qualifiers for OS packages
    cpes: tuple[str, ...] = ()
    licenses: tuple[str, ...] = ()  # SPDX expressions or ids where known, raw strings otherwise
    source_name: str | None = None  # distro source package (dpkg Source:, rpm SOURCERPM, apk origin)
    source_version: str | None = None
    arch: str | None = None
    layer_digest: str | None = None  # the layer that introduced this package (first layer where it appears)
    locations: tuple[Location, ...] = ()
    metadata: tuple[tuple[str, str], ...] = field(default=())  # cataloger-specific facts, sorted pairs

    @property
    def key(self) -> tuple[str, str, str]:
        """What makes two sightings the same package: type, name, version."""
        return (self.type.value, self.name, self.version)
