"""Version schemes: parse a version string of one ecosystem and order two of them.

Every scheme is a module with ``parse(text)`` (raises ``VersionError`` for what its reference
tool would reject) and ``compare(a, b) -> -1 | 0 | 1``, agreeing with that tool: dpkg (``deb``),
rpm (``rpm``), apk-tools (``apk``), ``packaging`` (``pep440``), node-semver (``semver``, ranges
in ``npm``), Maven's ComparableVersion (``maven``), Go (``go``), RubyGems (``gem``), NuGet
(``nuget``) and Composer (``composer``). ``scheme_for(ecosystem)`` picks the scheme of an OSV
ecosystem name ("Debian:12", "PyPI", "Alpine:v3.19" …)::

    >>> from wharfinger.versions import scheme_for
    >>> scheme_for("Debian:12").compare("1.2.3-1", "1.2.3-1+deb12u1")
    -1
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from wharfinger.errors import VersionError
from wharfinger.versions import apk, composer, deb, gem, go, maven, nuget, pep440, rpm, semver

__all__ = ["SCHEMES", "Scheme", "VersionError", "scheme_for"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scheme:
    """One way of ordering versions. ``parse`` validates; ``compare`` orders two strings."""

    name: str
    parse: Callable[[str], object]
    compare: Callable[[str, str], int]

    def is_valid(self, text: str) -> bool:
        try:
            self.parse(text)
        except VersionError:
            return False
        return True


SCHEMES: dict[str, Scheme] = {
    module.__name__.rsplit(".", 1)[1]: Scheme(
        name=module.__name__.rsplit(".", 1)[1], parse=module.parse, compare=module.compare
    )
    for module in (deb, rpm, apk, pep440, semver, maven, go, gem, nuget, composer)
}

# OSV ecosystem (the part before the first ':') -> scheme. Distro ecosystems carry a release
# after the colon ("Debian:12", "Alpine:v3.19"); the scheme does not depend on it.
_ECOSYSTEM_SCHEMES: dict[str, str] = {
    "Debian": "deb",
    "Ubuntu": "deb",
    "Alpine": "apk",
    "Wolfi": "apk",
    "Chainguard": "apk",
    "Red Hat": "rpm",
    "Rocky Linux": "rpm",
    "AlmaLinux": "rpm",
    "SUSE": "rpm",
    "openSUSE": "rpm",
    "Azure Linux": "rpm",
    "Mariner": "rpm",
    "CBL-Mariner": "rpm",
    "Photon OS": "rpm",
    "Oracle Linux": "rpm",
    "Amazon Linux": "rpm",
    "Fedora": "rpm",
    "CentOS": "rpm",
    "PyPI": "pep440",
    "npm": "semver",
    "crates.io": "semver",
    "Go": "go",
    "Maven": "maven",
    "RubyGems": "gem",
    "NuGet": "nuget",
    "Packagist": "composer",
}


def scheme_for(ecosystem: str) -> Scheme:
    """The scheme for an OSV ecosystem name; ``VersionError`` names the unknown ecosystem."""
    name = _ECOSYSTEM_SCHEMES.get(ecosystem.split(":", 1)[0])
    if name is None:
        raise VersionError(
            f"no version scheme for ecosystem {ecosystem!r}",
            hint="supported: " + ", ".join(sorted(_ECOSYSTEM_SCHEMES)),
        )
    return SCHEMES[name]
