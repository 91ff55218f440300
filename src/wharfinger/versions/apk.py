"""Alpine (apk-tools) versions: ``digit{.digit}…{letter}{_suffix{#}}…{~hash}{-r#}``.

The comparison walks both strings token by token as apk-tools' ``apk_version_compare`` does:
the first number, further ``.numbers`` (compared as strings when either has a leading zero), one
letter, ``_suffixes`` ordered ``alpha < beta < pre < rc < (none) < cvs < svn < git < hg < p``
with optional numbers, a ``~commit`` hash and ``-rN``. When one side runs out first, the longer
one is newer unless what it has left is a pre-release suffix.

``compare_tokens`` is apk-tools' comparison exactly, total over all strings (invalid versions
compare the way apk-tools compares them). ``parse`` and ``compare`` also validate, as
``apk_version_validate`` does, and raise ``VersionError`` for what apk would reject.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import IntEnum

from wharfinger.errors import VersionError

__all__ = ["ApkVersion", "compare", "compare_tokens", "is_valid", "parse"]

_UINT64 = 2**64  # apk parses numbers into a uint64_t, which wraps


class _Token(IntEnum):
    INITIAL_DIGIT = 0
    DIGIT = 1
    LETTER = 2
    SUFFIX = 3
    SUFFIX_NO = 4
    COMMIT_HASH = 5
    REVISION_NO = 6
    END = 7
    INVALID = 8


_SUFFIX_NONE = 5
_SUFFIXES = {"alpha": 1, "beta": 2, "pre": 3, "rc": 4, "cvs": 6, "svn": 7, "git": 8, "hg": 9, "p": 10}
_HEX = frozenset("0123456789abcdef")


@dataclass(slots=True)
class _Cursor:
    """Where the tokenizer is in one version string, and the token it just read."""

    text: str
    pos: int = 0
    token: _Token = _Token.INITIAL_DIGIT
    value: str = ""
    number: int = 0
    suffix: int = 0

    def read_digits(self) -> None:
        start = self.pos
        while self.pos < len(self.text) and "0" <= self.text[self.pos] <= "9":
            self.pos += 1
        self.value = self.text[start : self.pos]
        self.number = int(self.value) % _UINT64 if self.value else 0
        if not self.value:
            self.token = _Token.INVALID

    def first(self) -> None:
        self.token = _Token.INITIAL_DIGIT
        self.read_digits()

    def next(self) -> None:
        text, pos = self.text, self.pos
        if pos >= len(text):
            self.token = _Token.END
            return
        char = text[pos]
        if "a" <= char <= "z":
            if self.token > _Token.DIGIT:
                self.token = _Token.INVALID
                return
            self.value = char
            self.token = _Token.LETTER
            self.pos += 1
        elif char == "." or "0" <= char <= "9":
            if char == ".":
                if self.token > _Token.DIGIT:
                    self.token = _Token.INVALID
                    return
                self.pos += 1
            if self.token in (_Token.INITIAL_DIGIT, _Token.DIGIT):
                self.token = _Token.DIGIT
            elif self.token == _Token.SUFFIX:
                self.token = _Token.SUFFIX_NO
            else:
                self.token = _Token.INVALID
                return
            self.read_digits()
        elif char == "_":
            if self.token > _Token.SUFFIX_NO:
                self.token = _Token.INVALID
                return
            self.pos += 1
            start = self.pos
            while self.pos < len(text) and "a" <= text[self.pos] <= "z":
                self.pos += 1
            self.value = text[start : self.pos]
            suffix = _SUFFIXES.get(self.value)
            if suffix is None:
                self.token = _Token.INVALID
                return
            self.suffix = suffix
            self.token = _Token.SUFFIX
        elif char == "~":
            if self.token >= _Token.COMMIT_HASH:
                self.token = _Token.INVALID
                return
            self.pos += 1
            start = self.pos
            while self.pos < len(text) and text[self.pos] in _HEX:
                self.pos += 1
            self.value = text[start : self.pos]
            if not self.value:
                self.token = _Token.INVALID
                return
            self.token = _Token.COMMIT_HASH
        elif char == "-":
            if self.token >= _Token.REVISION_NO or not text.startswith("-r", pos):
                self.token = _Token.INVALID
                return
            self.pos += 2
            self.token = _Token.REVISION_NO
            self.read_digits()
        else:
            self.token = _Token.INVALID


def _sign(a: int | str, b: int | str) -> int:
    return (a > b) - (a < b)  # type: ignore[operator]  # both sides always have the same type


def _token_cmp(ta: _Cursor, tb: _Cursor) -> int:
    token = ta.token
    if token == _Token.DIGIT and (ta.value[0] == "0" or tb.value[0] == "0"):
        return _sign(ta.value, tb.value)  # a leading zero means string order, as in Gentoo's spec
    if token in (_Token.DIGIT, _Token.INITIAL_DIGIT, _Token.SUFFIX_NO, _Token.REVISION_NO):
        return _sign(ta.number, tb.number)
    if token == _Token.LETTER:
        return _sign(ta.value, tb.value)
    if token == _Token.SUFFIX:
        return _sign(ta.suffix, tb.suffix)
    return _sign(ta.value, tb.value)  # commit hashes: byte order


def compare_tokens(a: str, b: str) -> int:
    """apk-tools' ``apk_version_compare`` (no validation): -1, 0 or 1."""
    ta, tb = _Cursor(a), _Cursor(b)
    ta.first()
    tb.first()
    while ta.token == tb.token and ta.token < _Token.END:
        result = _token_cmp(ta, tb)
        if result:
            return result
        ta.next()
        tb.next()
    if ta.token == tb.token:
        return 0
    if ta.token == _Token.SUFFIX and ta.suffix < _SUFFIX_NONE:
        return -1
    if tb.token == _Token.SUFFIX and tb.suffix < _SUFFIX_NONE:
        return 1
    if ta.token > tb.token:
        return -1
    if tb.token > ta.token:
        return 1
    return 0


def is_valid(text: str) -> bool:
    """apk-tools' ``apk_version_validate``."""
    cursor = _Cursor(text)
    cursor.first()
    while cursor.token < _Token.END:
        cursor.next()
    return cursor.token == _Token.END


@dataclass(frozen=True, slots=True)
class ApkVersion:
    text: str = field(compare=False)

    def compare(self, other: ApkVersion) -> int:
        return compare_tokens(self.text, other.text)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApkVersion) and self.compare(other) == 0

    def __hash__(self) -> int:
        return hash(ApkVersion)  # equal versions may be spelled differently ("1.0" and "1.00" are not, "1" is)

    def __lt__(self, other: ApkVersion) -> bool:
        return self.compare(other) < 0

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=65536)
def parse(text: str) -> ApkVersion:
    if not is_valid(text):
        raise VersionError(
            f"invalid Alpine version {text!r}",
            hint="an apk version looks like 1.2.3_rc1-r0 (digits, optional letter, _suffixes, ~hash, -rN)",
        )
    return ApkVersion(text=text)


def compare(a: str, b: str) -> int:
    """Validate both versions as apk does, then order them as ``apk version -t`` would."""
    return parse(a).compare(parse(b))
