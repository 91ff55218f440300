"""OSV ecosystem names: which we know, which are distributions, and how package names compare.

Ecosystem strings follow the OSV schema: a base name, optionally ``:release`` ("Debian:12",
"Alpine:v3.19", "Azure Linux:3"). Names are compared in the form each ecosystem's package
manager compares them, so ``advisories_for("PyPI", "Django")`` finds ``django``.
"""

from __future__ import annotations

import re

__all__ = [
    "DISTRO_ECOSYSTEMS",
    "KNOWN_ECOSYSTEMS",
    "base_ecosystem",
    "ecosystem_key",
    "is_distro",
    "is_known",
    "name_key",
]

# The OSV schema's ecosystem list (https://ossf.github.io/osv-schema/#affectedpackage-field).
DISTRO_ECOSYSTEMS: frozenset[str] = frozenset(
    {
        "AlmaLinux",
        "Alpine",
        "Azure Linux",
        "Chainguard",
        "Debian",
        "Echo",
        "Mageia",
        "Mariner",
        "MinimOS",
        "openEuler",
        "openSUSE",
        "Photon OS",
        "Red Hat",
        "Rocky Linux",
        "SUSE",
        "Ubuntu",
        "Wolfi",
    }
)
KNOWN_ECOSYSTEMS: frozenset[str] = DISTRO_ECOSYSTEMS | frozenset(
    {
        "Android",
        "Bioconductor",
        "Bitnami",
        "ConanCenter",
        "CRAN",
        "crates.io",
        "GHC",
        "GitHub Actions",
        "Go",
        "Hackage",
        "Hex",
        "Julia",
        "Linux",
        "Maven",
        "npm",
        "NuGet",
        "OSS-Fuzz",
        "Packagist",
        "Pub",
        "PyPI",
        "RubyGems",
        "SwiftURL",
        "VSCode",
    }
)
_KNOWN_BY_LOWER = {name.lower(): name for name in KNOWN_ECOSYSTEMS}
_PEP503_SEPARATORS = re.compile(r"[-_.]+")
# Package managers that treat names case-insensitively; the others compare exactly.
_CASE_INSENSITIVE = frozenset({"pypi", "nuget", "packagist", "rubygems", "hex", "pub", "cran"})


def base_ecosystem(ecosystem: str) -> str:
    """``"Debian:12"`` → ``"Debian"``; the canonical spelling when the base is known."""
    base = ecosystem.split(":", 1)[0].strip()
    return _KNOWN_BY_LOWER.get(base.lower(), base)


def is_known(ecosystem: str) -> bool:
    return base_ecosystem(ecosystem) in KNOWN_ECOSYSTEMS


def is_distro(ecosystem: str) -> bool:
    return base_ecosystem(ecosystem) in DISTRO_ECOSYSTEMS


def ecosystem_key(ecosystem: str) -> str:
    """The database key of an ecosystem: case-folded, release kept (``"debian:12"``)."""
    return ecosystem.strip().lower()


def name_key(ecosystem: str, name: str) -> str:
    """The database key of a package name, as the ecosystem's package manager compares names."""
    base = base_ecosystem(ecosystem).lower()
    if base == "pypi":
        return _PEP503_SEPARATORS.sub("-", name).lower()
    if base in _CASE_INSENSITIVE:
        return name.lower()
    return name
