"""Debian package versions, compared exactly as ``dpkg --compare-versions`` does.

A version is ``[epoch:]upstream[-revision]``: the epoch is everything before the first ``:``, the
revision everything after the last ``-``. Upstream and revision are compared with dpkg's
``verrevcmp``: alternating runs of non-digits and digits, where ``~`` sorts before everything
(even the end of the string), letters sort before other characters, and digit runs compare as
numbers. Versions dpkg would reject (no leading digit, characters outside its alphabet, a bad
epoch) raise ``VersionError``, so nothing is ever matched by accident.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from wharfinger.errors import VersionError
from wharfinger.versions.limits import check_length

__all__ = ["DebVersion", "compare", "parse"]

_UPSTREAM_EXTRA = frozenset(".+-~:")  # besides alphanumerics; '-' only with a revision, ':' only with an epoch
_REVISION_EXTRA = frozenset(".+~")


def _order(char: str) -> int:
    """dpkg's weight of one character inside a non-digit run (the end of a run weighs 0)."""
    if char == "~":
        return -1
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256


def _verrevcmp(a: str, b: str) -> int:
    i = j = 0
    len_a, len_b = len(a), len(b)
    while i < len_a or j < len_b:
        first_diff = 0
        while (i < len_a and not a[i].isdigit()) or (j < len_b and not b[j].isdigit()):
            ac = _order(a[i]) if i < len_a and not a[i].isdigit() else 0
            bc = _order(b[j]) if j < len_b and not b[j].isdigit() else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len_a and a[i] == "0":
            i += 1
        while j < len_b and b[j] == "0":
            j += 1
        while i < len_a and a[i].isdigit() and j < len_b and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len_a and a[i].isdigit():
            return 1
        if j < len_b and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


_RunKey = tuple[tuple[tuple[int, ...], int], ...]
_PAST_THE_END = ((0,), 0)  # what verrevcmp compares once a string has run out: no characters, number 0


@functools.lru_cache(maxsize=65536)
def _run_key(part: str) -> _RunKey:
    """A tuple that orders like ``_verrevcmp`` (tuple comparison in C instead of a Python loop).

    One (non-digit weights + (0,), number) pair per run pair, then ``_PAST_THE_END``: the weights
    end with 0 because verrevcmp weighs a missing character 0, and the end pair stands for the
    padding verrevcmp compares past the shorter string (no later pair can equal it: inner
    non-digit runs are never empty, so comparison is decided there or the keys are equal).
    """
    pairs: list[tuple[tuple[int, ...], int]] = []
    position, length = 0, len(part)
    while position < length or not pairs:
        digits = position
        while digits < length and not part[digits].isdigit():
            digits += 1
        end = digits
        while end < length and part[end].isdigit():
            end += 1
        pairs.append(((*(_order(char) for char in part[position:digits]), 0), int(part[digits:end] or 0)))
        position = end
    pairs.append(_PAST_THE_END)
    return tuple(pairs)


@dataclass(frozen=True, slots=True)
class DebVersion:
    epoch: int
    upstream: str
    revision: str
    text: str = field(compare=False)

    def compare(self, other: DebVersion) -> int:
        if self.epoch != other.epoch:
            return -1 if self.epoch < other.epoch else 1
        for mine, theirs in ((self.upstream, other.upstream), (self.revision, other.revision)):
            if mine != theirs:
                a, b = _run_key(mine), _run_key(theirs)
                if a != b:
                    return -1 if a < b else 1
        return 0

    def __lt__(self, other: DebVersion) -> bool:
        return self.compare(other) < 0

    def __str__(self) -> str:
        return self.text


def _is_ascii_digit(char: str) -> bool:
    return "0" <= char <= "9"


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> DebVersion:
    """Parse ``text`` as dpkg's ``parseversion`` does (leading/trailing blanks ignored)."""
    check_length(text, "Debian")
    stripped = text.strip()
    if not stripped:
        raise VersionError(f"empty Debian version {text!r}", hint="a Debian version looks like 1:2.36-9+deb12u4")
    if any(ch.isspace() for ch in stripped):
        raise VersionError(f"Debian version {text!r} contains blanks", hint="remove the embedded spaces")
    epoch_text, colon, rest = stripped.partition(":")
    if colon:
        if not epoch_text or not all(_is_ascii_digit(c) for c in epoch_text):
            raise VersionError(
                f"Debian version {text!r} has a non-numeric epoch", hint="the epoch is digits before ':'"
            )
        epoch = int(epoch_text)
        if epoch > 2**31 - 1:
            raise VersionError(
                f"Debian version {text!r} has an epoch that is too big", hint="dpkg limits it to INT_MAX"
            )
    else:
        epoch, rest = 0, stripped
    upstream, dash, revision = rest.rpartition("-")
    if not dash:
        upstream, revision = rest, ""
    if not upstream:
        raise VersionError(f"Debian version {text!r} has an empty upstream part", hint="it must start with a digit")
    if dash and not revision:
        raise VersionError(f"Debian version {text!r} has an empty revision", hint="drop the trailing '-'")
    if not _is_ascii_digit(upstream[0]):
        raise VersionError(f"Debian version {text!r} does not start with a digit", hint="dpkg requires it")
    allowed_upstream = _UPSTREAM_EXTRA if colon else _UPSTREAM_EXTRA - {":"}
    for char in upstream:
        if not (char.isascii() and char.isalnum()) and char not in allowed_upstream:
            raise VersionError(f"Debian version {text!r} has an invalid character {char!r} in its upstream part")
    for char in revision:
        if not (char.isascii() and char.isalnum()) and char not in _REVISION_EXTRA:
            raise VersionError(f"Debian version {text!r} has an invalid character {char!r} in its revision")
    return DebVersion(epoch=epoch, upstream=upstream, revision=revision, text=text)


def compare(a: str, b: str) -> int:
    """Return -1, 0 or 1 as ``dpkg --compare-versions a lt|eq|gt b`` would say.

    Like dpkg's command line, an empty string means "no version" and sorts before every version;
    ``parse`` itself refuses it, so an installed package without a version is never matched.
    """
    if not a or not b:
        return (a != "") - (b != "")
    return parse(a).compare(parse(b))
