"""Composer (Packagist) versions: normalised as ``Composer\\Semver\\VersionParser::normalize``
does (``v1.2`` → ``1.2.0.0``, ``1.0-beta2`` → ``1.0.0.0-beta2``, ``1.0-p1`` → ``1.0.0.0-patch1``)
and ordered with PHP's ``version_compare`` (``dev < alpha < beta < RC < release < patch``).
Branch names (``dev-main``, ``1.x-dev``) are not versions and raise ``VersionError``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from wharfinger.errors import VersionError

__all__ = ["ComposerVersion", "compare", "parse", "version_compare"]

_MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
_CLASSICAL = re.compile(r"v?(\d{1,5})(\.\d++)?(\.\d++)?(\.\d++)?" + _MODIFIER, re.ASCII | re.IGNORECASE)
_DATE = re.compile(r"v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + _MODIFIER, re.ASCII | re.IGNORECASE)
_STABILITY = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}
# PHP matches each form by prefix, in this order ("patch" is a "p")
_SPECIAL = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)


def _php_canonical(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for char in text:
        if char in "-_+.":
            if current:
                parts.append(current)
            current = ""
            continue
        if current and current[-1].isdigit() != char.isdigit():
            parts.append(current)
            current = ""
        current += char
    if current:
        parts.append(current)
    return parts


def _special(a: str, b: str) -> int:
    fa, fb = _form(a), _form(b)
    return (fa > fb) - (fa < fb)


def _form(part: str) -> int:
    return next((order for name, order in _SPECIAL if part.startswith(name)), -6)


def _part_cmp(a: str, b: str) -> int:
    if a.isdigit() and b.isdigit():
        return (int(a) > int(b)) - (int(a) < int(b))
    if not a.isdigit() and not b.isdigit():
        return _special(a, b)
    return _special("#N#", b) if a.isdigit() else _special(a, "#N#")


def version_compare(a: str, b: str) -> int:
    """PHP's ``version_compare($a, $b)``."""
    pa, pb = _php_canonical(a), _php_canonical(b)
    for x, y in zip(pa, pb, strict=False):
        result = _part_cmp(x, y)
        if result:
            return result
    if len(pa) > len(pb):
        rest = pa[len(pb)]
        return 1 if rest.isdigit() else _part_cmp(rest, "#N#")
    if len(pb) > len(pa):
        rest = pb[len(pa)]
        return -1 if rest.isdigit() else _part_cmp("#N#", rest)
    return 0


def _modifier(match: re.Match[str], first_group: int) -> str:
    stability, number, dev = match.group(first_group), match.group(first_group + 1), match.group(first_group + 2)
    suffix = ""
    if stability and stability.lower() != "stable":
        suffix = "-" + _STABILITY.get(stability.lower(), stability) + (number.lstrip(".-") if number else "")
    if dev:
        suffix += "-dev"
    return suffix


@dataclass(frozen=True, slots=True)
class ComposerVersion:
    normalized: str
    text: str = field(compare=False)

    def compare(self, other: ComposerVersion) -> int:
        return version_compare(self.normalized, other.normalized)

    def __lt__(self, other: ComposerVersion) -> bool:
        return self.compare(other) < 0

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> ComposerVersion:
    stripped = text.strip()
    stripped = re.sub(r"@(?:stable|RC|beta|alpha|dev)$", "", stripped, flags=re.IGNORECASE)
    stripped = stripped.split("+", 1)[0]  # build metadata
    match = _CLASSICAL.fullmatch(stripped)
    if match:
        numbers = [match.group(1)] + [(match.group(i) or ".0")[1:] for i in (2, 3, 4)]
        return ComposerVersion(normalized=".".join(numbers) + _modifier(match, 5), text=text)
    match = _DATE.fullmatch(stripped)
    if match:
        date = re.sub(r"\D", ".", match.group(1))
        return ComposerVersion(normalized=date + _modifier(match, 2), text=text)
    raise VersionError(
        f"invalid Composer version {text!r}", hint="Composer versions look like 1.2.3, v2.0.0-beta1 (not dev-branches)"
    )


def compare(a: str, b: str) -> int:
    return parse(a).compare(parse(b))
