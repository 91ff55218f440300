"""Maven versions, ordered as ``org.apache.maven.artifact.versioning.ComparableVersion`` (3.8).

Any string is a Maven version. It is lower-cased and split into items at ``.``, ``-`` and at
every switch between digits and letters; a ``-`` or a switch opens a nested list. Numbers compare
numerically, qualifiers in the order ``alpha < beta < milestone < rc = cr < snapshot < "" = ga =
final = release < sp`` and then unknown qualifiers alphabetically; a lone ``a``/``b``/``m`` right
before a digit means alpha/beta/milestone. Trailing zeros and empty qualifiers are dropped
(``1.0.0 == 1``).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field

from wharfinger.errors import VersionError
from wharfinger.versions.limits import check_length

__all__ = ["MavenVersion", "compare", "parse"]

_QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_RELEASE_INDEX = "5"


def _qualifier_key(value: str) -> str:
    try:
        return str(_QUALIFIERS.index(value))
    except ValueError:
        return f"{len(_QUALIFIERS)}-{value}"


@dataclass(frozen=True, slots=True)
class _Str:
    value: str

    @classmethod
    def make(cls, value: str, *, followed_by_digit: bool) -> _Str:
        if followed_by_digit and len(value) == 1:
            value = {"a": "alpha", "b": "beta", "m": "milestone"}.get(value, value)
        return cls(_ALIASES.get(value, value))


_Item = int | _Str | list["_Item"]  # int: IntItem/LongItem/BigIntegerItem; list: ListItem


def _is_null(item: _Item) -> bool:
    if isinstance(item, int):
        return item == 0
    if isinstance(item, _Str):
        return _qualifier_key(item.value) == _RELEASE_INDEX
    return not item


def _java_cmp(a: str | int, b: str | int) -> int:
    return (a > b) - (a < b)  # type: ignore[operator]  # both sides always have the same type


def _cmp(left: _Item, right: _Item | None) -> int:
    if isinstance(left, int):
        if right is None:
            return 0 if left == 0 else 1
        if isinstance(right, int):
            return _java_cmp(left, right)
        return 1  # numbers beat qualifiers and nested lists
    if isinstance(left, _Str):
        if right is None:
            return _java_cmp(_qualifier_key(left.value), _RELEASE_INDEX)
        if isinstance(right, _Str):
            return _java_cmp(_qualifier_key(left.value), _qualifier_key(right.value))
        return -1
    if right is None:
        for item in left:
            result = _cmp(item, None)
            if result:
                return result
        return 0
    if isinstance(right, int):
        return -1
    if isinstance(right, _Str):
        return 1
    for i in range(max(len(left), len(right))):
        lhs = left[i] if i < len(left) else None
        rhs = right[i] if i < len(right) else None
        result = (0 if rhs is None else -_cmp(rhs, None)) if lhs is None else _cmp(lhs, rhs)
        if result:
            return result
    return 0


def _normalize(items: list[_Item]) -> None:
    for i in range(len(items) - 1, -1, -1):
        if _is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], list):
            break


def _is_digit(char: str) -> bool:
    return unicodedata.category(char) == "Nd"  # Java's Character.isDigit


def _parse_item(text: str, *, is_digit: bool) -> _Item:
    return int(text) if is_digit else _Str.make(text, followed_by_digit=False)


def _sublist(current: list[_Item], stack: list[list[_Item]]) -> list[_Item]:
    """A new list item, appended to ``current`` and to ``stack`` (each is normalised at the end), as
    Maven's parser opens a ``ListItem``."""
    nested: list[_Item] = []
    current.append(nested)
    stack.append(nested)
    return nested


def _parse_items(text: str) -> list[_Item]:
    version = text.lower()
    root: list[_Item] = []
    current = root
    stack = [root]
    is_digit = False
    start = 0
    for i, char in enumerate(version):
        if char in ".-":
            current.append(0 if i == start else _parse_item(version[start:i], is_digit=is_digit))
            start = i + 1
            if char == "-":
                current = _sublist(current, stack)
        elif _is_digit(char):
            if not is_digit and i > start:
                if current:  # ".X" is treated as "-X" for a qualifier X: 1.0.0.X1 < 1.0.0-X2
                    current = _sublist(current, stack)
                current.append(_Str.make(version[start:i], followed_by_digit=True))
                start = i
                current = _sublist(current, stack)
            is_digit = True
        else:
            if is_digit and i > start:
                current.append(_parse_item(version[start:i], is_digit=True))
                start = i
                current = _sublist(current, stack)
            is_digit = False
    if len(version) > start:
        if not is_digit and current:  # ".X" is treated as "-X" here too
            current = _sublist(current, stack)
        current.append(_parse_item(version[start:], is_digit=is_digit))
    while stack:
        _normalize(stack.pop())
    return root


@dataclass(frozen=True, slots=True)
class MavenVersion:
    text: str
    items: list[_Item] = field(compare=False, hash=False, repr=False)

    def compare(self, other: MavenVersion) -> int:
        return _cmp(self.items, other.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MavenVersion) and self.compare(other) == 0

    def __hash__(self) -> int:
        return hash(MavenVersion)

    def __lt__(self, other: MavenVersion) -> bool:
        return self.compare(other) < 0

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> MavenVersion:
    check_length(text, "Maven")
    if not text.strip():
        raise VersionError("empty Maven version", hint="a Maven version looks like 2.17.1 or 1.0-SNAPSHOT")
    return MavenVersion(text=text, items=_parse_items(text))


def compare(a: str, b: str) -> int:
    """``new ComparableVersion(a).compareTo(new ComparableVersion(b))``, as -1, 0 or 1."""
    return parse(a).compare(parse(b))
