"""Python package versions (PEP 440), delegated to ``packaging``: the reference implementation."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from packaging.version import InvalidVersion, Version

from wharfinger.errors import VersionError
from wharfinger.versions.limits import MAX_RANGE_CHARS, check_length

if TYPE_CHECKING:  # specifiers (and packaging.tags/utils with them) cost `scan` start-up; only ranges use them
    from packaging.specifiers import SpecifierSet

__all__ = ["compare", "parse", "satisfies"]


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> Version:
    check_length(text, "Python")
    try:
        return Version(text)
    except InvalidVersion as exc:
        raise VersionError(
            f"invalid Python version {text!r}", hint="PEP 440 versions look like 1.2.3, 2.0rc1, 1!3.0.post1"
        ) from exc


def compare(a: str, b: str) -> int:
    va, vb = parse(a), parse(b)
    return (va > vb) - (va < vb)


@functools.lru_cache(maxsize=4096)
def _specifier(text: str) -> SpecifierSet:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # noqa: PLC0415 -- see the TYPE_CHECKING note

    check_length(text, "PEP 440 specifier", limit=MAX_RANGE_CHARS)
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as exc:
        raise VersionError(f"invalid PEP 440 specifier {text!r}", hint="for example >=1.0,<2.0") from exc


def satisfies(version: str, specifier: str) -> bool:
    """Whether ``version`` is in ``specifier``; prereleases count, as a vulnerability range needs."""
    return _specifier(specifier).contains(parse(version), prereleases=True)
