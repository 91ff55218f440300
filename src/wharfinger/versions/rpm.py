"""RPM versions: ``[epoch:]version[-release]`` compared with rpm's ``rpmvercmp``.

Each part is split into runs of ASCII digits and ASCII letters; other characters only separate
runs, except ``~`` (sorts before anything, even the end: ``1.0~rc1 < 1.0``) and ``^`` (sorts after
the end but before any further run: ``1.0 < 1.0^git1 < 1.0.1``). Digit runs beat letter runs and
compare as numbers. A missing epoch is 0. A missing release compares as an empty string, as
``rpm.ver`` (rpm 4.18) does, so ``1.0 < 1.0-1``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from wharfinger.errors import VersionError

__all__ = ["RpmVersion", "compare", "parse", "rpmvercmp"]


def _is_digit(char: str) -> bool:
    return "0" <= char <= "9"


def _is_alpha(char: str) -> bool:
    return ("a" <= char <= "z") or ("A" <= char <= "Z")


def rpmvercmp(a: str, b: str) -> int:
    """Compare one version or release part as rpm's ``rpmvercmp`` does."""
    if a == b:
        return 0
    i = j = 0
    len_a, len_b = len(a), len(b)
    while i < len_a or j < len_b:
        while i < len_a and not (_is_digit(a[i]) or _is_alpha(a[i])) and a[i] not in "~^":
            i += 1
        while j < len_b and not (_is_digit(b[j]) or _is_alpha(b[j])) and b[j] not in "~^":
            j += 1
        ca = a[i] if i < len_a else ""
        cb = b[j] if j < len_b else ""
        if ca == "~" or cb == "~":
            if ca != "~":
                return 1
            if cb != "~":
                return -1
            i += 1
            j += 1
            continue
        if ca == "^" or cb == "^":
            if not ca:
                return -1
            if not cb:
                return 1
            if ca != "^":
                return 1
            if cb != "^":
                return -1
            i += 1
            j += 1
            continue
        if not (ca and cb):
            break
        start_a, start_b = i, j
        is_number = _is_digit(ca)
        run = _is_digit if is_number else _is_alpha
        while i < len_a and run(a[i]):
            i += 1
        while j < len_b and run(b[j]):
            j += 1
        if j == start_b:  # a's run is of a different kind than b's next character
            return 1 if is_number else -1
        seg_a, seg_b = a[start_a:i], b[start_b:j]
        if is_number:
            seg_a, seg_b = seg_a.lstrip("0"), seg_b.lstrip("0")
            if len(seg_a) != len(seg_b):
                return 1 if len(seg_a) > len(seg_b) else -1
        if seg_a != seg_b:
            return 1 if seg_a > seg_b else -1
    if i >= len_a and j >= len_b:
        return 0
    return -1 if i >= len_a else 1


@dataclass(frozen=True, slots=True)
class RpmVersion:
    epoch: str
    version: str
    release: str
    text: str = field(compare=False)

    def compare(self, other: RpmVersion) -> int:
        return (
            rpmvercmp(self.epoch, other.epoch)
            or rpmvercmp(self.version, other.version)
            or rpmvercmp(self.release, other.release)
        )

    def __lt__(self, other: RpmVersion) -> bool:
        return self.compare(other) < 0

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> RpmVersion:
    """Split an EVR string as rpm's ``rpmverParse`` does: epoch = leading digits before ':'."""
    if not text.strip():  # rpm itself treats other blanks as separators, like '.'
        raise VersionError(f"invalid RPM version {text!r}", hint="an RPM version looks like 1:2.4.6-3.el9")
    digits_end = 0
    while digits_end < len(text) and _is_digit(text[digits_end]):
        digits_end += 1
    if digits_end < len(text) and text[digits_end] == ":":
        epoch, rest = text[:digits_end] or "0", text[digits_end + 1 :]
    else:
        epoch, rest = "0", text
    version, dash, release = rest.rpartition("-")
    if not dash:
        version, release = rest, ""
    if not version:
        raise VersionError(f"RPM version {text!r} has an empty version part", hint="expected [epoch:]version[-release]")
    return RpmVersion(epoch=epoch, version=version, release=release, text=text)


def compare(a: str, b: str) -> int:
    """Return -1, 0 or 1 ordering two EVR strings as rpm 4.18 does."""
    return parse(a).compare(parse(b))
