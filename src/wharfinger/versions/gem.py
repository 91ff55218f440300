"""RubyGems versions, ordered as ``Gem::Version#<=>``.

A version is dot-separated segments; a run of letters starts a new segment (``1.0.a1`` and
``1.0a1`` are the same). Numbers compare numerically and beat strings; strings compare
alphabetically; any letter makes the version a prerelease. Trailing zero segments are dropped
(``1.0 == 1``) and, in a prerelease, zeros right before the first letter segment too.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from wharfinger.errors import VersionError

__all__ = ["GemVersion", "compare", "parse"]

_PATTERN = re.compile(r"[0-9]+(?:\.[0-9a-zA-Z]+)*(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?", re.ASCII)
_SEGMENT = re.compile(r"[0-9]+|[a-z]+", re.ASCII | re.IGNORECASE)

_Segment = int | str


def _canonical(segments: list[_Segment]) -> tuple[_Segment, ...]:
    first_letter = next((i for i, s in enumerate(segments) if isinstance(s, str)), len(segments))
    release, pre = segments[:first_letter], segments[first_letter:]
    while release and release[-1] == 0:
        release.pop()
    while pre and pre[-1] == 0:
        pre.pop()
    return (*release, *pre)


def _cmp_segment(a: _Segment, b: _Segment) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    return 1 if isinstance(a, int) else -1


@dataclass(frozen=True, slots=True)
class GemVersion:
    segments: tuple[_Segment, ...]
    text: str = field(compare=False)

    @property
    def is_prerelease(self) -> bool:
        return any(isinstance(s, str) for s in self.segments)

    def compare(self, other: GemVersion) -> int:
        a, b = self.segments, other.segments
        for i in range(max(len(a), len(b))):
            left = a[i] if i < len(a) else 0
            right = b[i] if i < len(b) else 0
            if left != right:
                return _cmp_segment(left, right)
        return 0

    def __lt__(self, other: GemVersion) -> bool:
        return self.compare(other) < 0

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> GemVersion:
    stripped = text.strip()
    if not _PATTERN.fullmatch(stripped):
        raise VersionError(f"invalid RubyGems version {text!r}", hint="gem versions look like 1.2.3 or 2.0.0.rc1")
    stripped = stripped.replace("-", ".pre.")  # Gem::Version treats "1.0-x" as "1.0.pre.x"
    segments: list[_Segment] = [int(s) if s.isdigit() else s for s in _SEGMENT.findall(stripped)]
    return GemVersion(segments=_canonical(segments), text=text)


def compare(a: str, b: str) -> int:
    return parse(a).compare(parse(b))
