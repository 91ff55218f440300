"""Package -> (OSV ecosystem, name, version): purls as syft, trivy and our catalogers write them,
and the odd ones other tools produce."""

from __future__ import annotations

import pytest

from wharfinger.inventory.package import Distro, Package, PackageType
from wharfinger.matching import lookup_for
from wharfinger.matching.ecosystem import UnmatchableError, distro_from_purl


def pkg(name: str, version: str, type_: PackageType, purl: str, **extra: object) -> Package:
    return Package(name=name, version=version, type=type_, purl=purl, **extra)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("package", "ecosystems", "names", "version"),
    [
        (pkg("Django", "4.2", PackageType.PYPI, "pkg:pypi/django@4.2"), ("PyPI",), ("django",), "4.2"),
        (
            pkg("zope.interface", "5.0", PackageType.PYPI, "pkg:pypi/zope.interface@5.0"),
            ("PyPI",),
            ("zope-interface",),
            "5.0",
        ),
        (pkg("core", "7.0.0", PackageType.NPM, "pkg:npm/%40babel/core@7.0.0"), ("npm",), ("@babel/core",), "7.0.0"),
        (
            pkg("@babel/core", "7.0.0", PackageType.NPM, "pkg:npm/%40babel/core@7.0.0"),
            ("npm",),
            ("@babel/core",),
            "7.0.0",
        ),
        (
            pkg("commons-text", "1.9", PackageType.MAVEN, "pkg:maven/org.apache.commons/commons-text@1.9"),
            ("Maven",),
            ("org.apache.commons:commons-text",),
            "1.9",
        ),
        (
            pkg("github.com/gin-gonic/gin", "v1.9.0", PackageType.GOLANG, "pkg:golang/github.com/gin-gonic/gin@v1.9.0"),
            ("Go",),
            ("github.com/gin-gonic/gin",),
            "v1.9.0",
        ),
        (pkg("stdlib", "1.19.8", PackageType.GOLANG, "pkg:golang/stdlib@1.19.8"), ("Go",), ("stdlib",), "1.19.8"),
        (
            pkg("Newtonsoft.Json", "12.0.1", PackageType.NUGET, "pkg:nuget/Newtonsoft.Json@12.0.1"),
            ("NuGet",),
            ("newtonsoft.json",),
            "12.0.1",
        ),
        (pkg("serde", "1.0.0", PackageType.CARGO, "pkg:cargo/serde@1.0.0"), ("crates.io",), ("serde",), "1.0.0"),
        (
            pkg("symfony/http-kernel", "5.4.0", PackageType.COMPOSER, "pkg:composer/symfony/http-kernel@5.4.0"),
            ("Packagist",),
            ("symfony/http-kernel",),
            "5.4.0",
        ),
        (pkg("rack", "2.2.3", PackageType.GEM, "pkg:gem/rack@2.2.3"), ("RubyGems",), ("rack",), "2.2.3"),
        (
            pkg(
                "libssl3",
                "3.0.11-1~deb12u2",
                PackageType.DEB,
                "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12.4",
                source_name="openssl",
            ),
            ("Debian:12",),
            ("openssl",),
            "3.0.11-1~deb12u2",
        ),
        (
            pkg(
                "libssl3",
                "3.0.13-0ubuntu3",
                PackageType.DEB,
                "pkg:deb/ubuntu/libssl3@3.0.13-0ubuntu3?distro=ubuntu-24.04",
                source_name="openssl",
            ),
            ("Ubuntu:24.04:LTS", "Ubuntu:24.04"),
            ("openssl",),
            "3.0.13-0ubuntu3",
        ),
        (
            pkg("musl", "1.2.4-r2", PackageType.APK, "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"),
            ("Alpine:v3.19",),
            ("musl",),
            "1.2.4-r2",
        ),
        (
            pkg("glibc", "2.38-1", PackageType.APK, "pkg:apk/wolfi/glibc@2.38-1?distro=wolfi-20230201"),
            ("Wolfi",),
            ("glibc",),
            "2.38-1",
        ),
        (
            pkg(
                "openssl-libs",
                "1:3.0.7-24.el9",
                PackageType.RPM,
                "pkg:rpm/rhel/openssl-libs@3.0.7-24.el9?distro=rhel-9.4",
                source_name="openssl",
            ),
            ("Red Hat:9",),
            ("openssl", "openssl-libs"),
            "1:3.0.7-24.el9",
        ),
        (
            pkg("curl", "8.8.0-1.azl3", PackageType.RPM, "pkg:rpm/azurelinux/curl@8.8.0-1.azl3?distro=azurelinux-3.0"),
            ("Azure Linux:3", "Azure Linux:3.0"),
            ("curl",),
            "8.8.0-1.azl3",
        ),
        (
            pkg("curl", "7.86.0-1.cm2", PackageType.RPM, "pkg:rpm/mariner/curl@7.86.0-1.cm2?distro=mariner-2.0"),
            ("Mariner:2", "Mariner:2.0"),
            ("curl",),
            "7.86.0-1.cm2",
        ),
        (
            pkg(
                "bash",
                "5.1.8-6.el9",
                PackageType.RPM,
                "pkg:rpm/rocky/bash@5.1.8-6.el9?distro=rocky-9.3",
                metadata=(("epoch", "1"),),
            ),
            ("Rocky Linux:9",),
            ("bash",),
            "1:5.1.8-6.el9",
        ),
    ],
    ids=lambda v: v.purl if isinstance(v, Package) else None,
)
def test_lookups(package: Package, ecosystems: tuple[str, ...], names: tuple[str, ...], version: str) -> None:
    lookup = lookup_for(package)
    assert lookup.ecosystems == ecosystems
    assert lookup.names == names
    assert lookup.version == version


def test_debian_codename_only_distro() -> None:
    distro = distro_from_purl("pkg:deb/debian/bash@5.2-1?distro=bookworm")
    assert distro is not None
    assert distro.version_id == "12"
    package = pkg("bash", "5.2-1", PackageType.DEB, "pkg:deb/debian/bash@5.2-1")
    assert lookup_for(package, Distro(id="debian", codename="bullseye")).ecosystems == ("Debian:11",)


@pytest.mark.parametrize(
    ("package", "reason"),
    [
        (pkg("bash", "", PackageType.DEB, "pkg:deb/debian/bash?distro=debian-12"), "no version"),
        (pkg("bash", "5.2-1", PackageType.DEB, "pkg:deb/debian/bash@5.2-1"), "without a known distribution"),
        (
            pkg("bash", "5.2-1", PackageType.DEB, "pkg:deb/debian/bash@5.2-1?distro=debian"),
            "no vulnerability data source",
        ),
        (pkg("bash", "5.2-1", PackageType.DEB, "pkg:deb/gentoo/bash@5.2-1?distro=gentoo-2.14"), "gentoo"),
        (pkg("node", "20.1.0", PackageType.BINARY, "pkg:generic/node@20.1.0"), "binary"),
        (pkg("thing", "1.0", PackageType.BINARY, "not a purl at all"), "binary"),
    ],
)
def test_unmatchable_packages_say_why(package: Package, reason: str) -> None:
    with pytest.raises(UnmatchableError, match=reason):
        lookup_for(package)


def test_go_binary_catalogued_as_binary_uses_its_golang_purl() -> None:
    package = pkg("github.com/foo/bar", "v1.2.3", PackageType.BINARY, "pkg:golang/github.com/foo/bar@v1.2.3")
    assert lookup_for(package).ecosystems == ("Go",)
