"""Semantic Versioning 2.0.0 as npm's ``semver`` package (v7) reads it in strict mode.

``MAJOR.MINOR.PATCH[-prerelease][+build]`` with an optional leading ``v`` and surrounding blanks
ignored; no leading zeros in numeric identifiers; each number at most 2**53-1 and the string at
most 256 characters, as in node-semver. Build metadata never affects order. Used for npm,
crates.io and OSV ``SEMVER`` ranges.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from wharfinger.errors import VersionError

__all__ = ["MAX_LENGTH", "MAX_SAFE_INTEGER", "SemVer", "compare", "compare_identifiers", "parse"]

MAX_LENGTH = 256  # characters, node-semver's limit
MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER

_NUMERIC = re.compile(r"[0-9]+", re.ASCII)
_FULL = re.compile(
    r"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:\d*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9]\d*)(?:\.(?:\d*[a-zA-Z-][a-zA-Z0-9-]*|0|[1-9]\d*))*))?"
    r"(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))?",
    re.ASCII,
)


def compare_identifiers(a: int | str, b: int | str) -> int:
    """node-semver's ``compareIdentifiers``: numbers before strings, numbers numerically."""
    a_num = isinstance(a, int) or bool(_NUMERIC.fullmatch(a))
    b_num = isinstance(b, int) or bool(_NUMERIC.fullmatch(b))
    if a_num and b_num:
        fa, fb = float(a), float(b)  # JavaScript compares them as doubles
        return (fa > fb) - (fa < fb)
    if a_num:
        return -1
    if b_num:
        return 1
    sa, sb = str(a), str(b)
    return (sa > sb) - (sa < sb)


@dataclass(frozen=True, slots=True)
class SemVer:
    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: tuple[str, ...] = field(default=(), compare=False)
    text: str = field(default="", compare=False)

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def compare(self, other: SemVer) -> int:
        if self.release != other.release:
            return -1 if self.release < other.release else 1
        return _compare_prerelease(self.prerelease, other.prerelease)

    def __lt__(self, other: SemVer) -> bool:
        return self.compare(other) < 0

    def __le__(self, other: SemVer) -> bool:
        return self.compare(other) <= 0

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return core + ("-" + ".".join(str(p) for p in self.prerelease) if self.prerelease else "")


def _compare_prerelease(a: tuple[int | str, ...], b: tuple[int | str, ...]) -> int:
    if a and not b:
        return -1
    if b and not a:
        return 1
    for x, y in zip(a, b, strict=False):
        if x != y:
            return compare_identifiers(x, y)
    return (len(a) > len(b)) - (len(a) < len(b))


def _identifier(text: str) -> int | str:
    if _NUMERIC.fullmatch(text):
        number = int(text)
        if number < MAX_SAFE_INTEGER:
            return number
    return text


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> SemVer:
    if len(text) > MAX_LENGTH:
        raise VersionError(f"semantic version is longer than {MAX_LENGTH} characters", hint="check the input")
    match = _FULL.fullmatch(text.strip())
    if match is None:
        raise VersionError(
            f"invalid semantic version {text!r}",
            hint="expected MAJOR.MINOR.PATCH[-prerelease][+build] without leading zeros (semver.org)",
        )
    numbers = [int(match.group(i)) for i in (1, 2, 3)]
    if any(n > MAX_SAFE_INTEGER for n in numbers):
        raise VersionError(f"semantic version {text!r} has a number above 2**53-1", hint="npm rejects it too")
    prerelease = tuple(_identifier(p) for p in match.group(4).split(".")) if match.group(4) else ()
    build = tuple(match.group(5).split(".")) if match.group(5) else ()
    return SemVer(major=numbers[0], minor=numbers[1], patch=numbers[2], prerelease=prerelease, build=build, text=text)


def compare(a: str, b: str) -> int:
    """``semver.compare(a, b)`` of npm's semver 7 (strict)."""
    return parse(a).compare(parse(b))
