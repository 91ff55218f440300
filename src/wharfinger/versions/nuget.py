"""NuGet versions (``NuGetVersion``): up to four numeric parts (``1.2.3.4``; missing ones are 0)
with an optional SemVer 2.0 prerelease label compared case-insensitively, build metadata ignored.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from wharfinger.errors import VersionError

__all__ = ["NuGetVersion", "compare", "parse"]

_PATTERN = re.compile(
    r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?",
    re.ASCII,
)


def _cmp_label(a: str, b: str) -> int:
    a_num, b_num = a.isdigit(), b.isdigit()
    if a_num and b_num:
        return (int(a) > int(b)) - (int(a) < int(b))
    if a_num != b_num:
        return -1 if a_num else 1
    la, lb = a.lower(), b.lower()
    return (la > lb) - (la < lb)


@dataclass(frozen=True, slots=True)
class NuGetVersion:
    numbers: tuple[int, int, int, int]
    prerelease: tuple[str, ...]
    text: str = field(compare=False)

    def compare(self, other: NuGetVersion) -> int:
        if self.numbers != other.numbers:
            return -1 if self.numbers < other.numbers else 1
        a, b = self.prerelease, other.prerelease
        if not a or not b:
            return (not a) - (not b)
        for x, y in zip(a, b, strict=False):
            result = _cmp_label(x, y)
            if result:
                return result
        return (len(a) > len(b)) - (len(a) < len(b))

    def __lt__(self, other: NuGetVersion) -> bool:
        return self.compare(other) < 0

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> NuGetVersion:
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        raise VersionError(f"invalid NuGet version {text!r}", hint="NuGet versions look like 13.0.1 or 6.0.0-preview.1")
    a, b, c, d, pre, _build = match.groups()
    numbers = (int(a), int(b or 0), int(c or 0), int(d or 0))
    return NuGetVersion(numbers=numbers, prerelease=tuple(pre.split(".")) if pre else (), text=text)


def compare(a: str, b: str) -> int:
    return parse(a).compare(parse(b))
