"""npm version ranges (``^1.2.3``, ``~1.2``, ``1.x``, ``1.2.3 - 2.0.0``, ``>=1 <2 || 3``) with
node-semver 7 semantics under default options (not loose, prereleases excluded).

A range desugars, exactly as node-semver's ``Range`` does, into sets of primitive comparators
(``>=1.2.3 <2.0.0-0``) joined by ``||``; a version satisfies it when it satisfies every comparator
of one set and, if it is a prerelease, one comparator of that set names a prerelease of the same
``MAJOR.MINOR.PATCH`` (so ``^1.2.3`` never admits ``1.3.0-beta``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from wharfinger.errors import VersionError
from wharfinger.versions import semver
from wharfinger.versions.semver import SemVer

__all__ = ["Comparator", "NpmRange", "parse_range", "satisfies"]

_MAX_BUILD = semver.MAX_LENGTH - 6


def _safe(source: str) -> str:
    """node-semver's ``makeSafeRegex``: bound the greedy repeats so hostile ranges stay linear."""
    for token, limit in (("\\s", 1), ("\\d", semver.MAX_LENGTH), ("[a-zA-Z0-9-]", _MAX_BUILD)):
        source = source.replace(f"{token}*", f"{token}{{0,{limit}}}").replace(f"{token}+", f"{token}{{1,{limit}}}")
    return source


_NUM = r"0|[1-9]\d*"
_NON_NUM = r"\d*[a-zA-Z-][a-zA-Z0-9-]*"
_PRE_ID = f"(?:{_NON_NUM}|{_NUM})"
_PRERELEASE = rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))"
_BUILD = r"(?:\+([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*))"
_MAIN = rf"({_NUM})\.({_NUM})\.({_NUM})"
_FULLPLAIN = rf"v?{_MAIN}{_PRERELEASE}?{_BUILD}?"
_NUM_LOOSE = r"\d+"
_PRE_ID_LOOSE = f"(?:{_NON_NUM}|{_NUM_LOOSE})"
_PRERELEASE_LOOSE = rf"(?:-?({_PRE_ID_LOOSE}(?:\.{_PRE_ID_LOOSE})*))"
_LOOSEPLAIN = rf"[v=\s]*({_NUM_LOOSE})\.({_NUM_LOOSE})\.({_NUM_LOOSE}){_PRERELEASE_LOOSE}?{_BUILD}?"
_GTLT = r"((?:<|>)?=?)"
_XID = rf"{_NUM}|x|X|\*"
_XRANGEPLAIN = rf"[v=\s]*({_XID})(?:\.({_XID})(?:\.({_XID})(?:{_PRERELEASE})?{_BUILD}?)?)?"


def _compile(source: str) -> re.Pattern[str]:
    return re.compile(_safe(source), re.ASCII)


_RE_BUILD = _compile(_BUILD)
_RE_XRANGE = _compile(rf"^{_GTLT}\s*{_XRANGEPLAIN}$")
_RE_TILDE = _compile(rf"^(?:~>?){_XRANGEPLAIN}$")
_RE_TILDETRIM = _compile(r"(\s*)(?:~>?)\s+")
_RE_CARET = _compile(rf"^(?:\^){_XRANGEPLAIN}$")
_RE_CARETTRIM = _compile(r"(\s*)(?:\^)\s+")
_RE_COMPARATOR = _compile(rf"^{_GTLT}\s*({_FULLPLAIN})$|^$")
_RE_COMPARATORTRIM = _compile(rf"(\s*){_GTLT}\s*({_LOOSEPLAIN}|{_XRANGEPLAIN})")
_RE_HYPHENRANGE = _compile(rf"^\s*({_XRANGEPLAIN})\s+-\s+({_XRANGEPLAIN})\s*$")
_RE_STAR = _compile(r"(<|>)?=?\s*\*")
_RE_GTE0 = _compile(r"^\s*>=\s*0\.0\.0\s*$")
_SPACES = re.compile(r"\s+")
_BUILD_ANYWHERE = re.compile(_BUILD, re.ASCII)  # node-semver strips build metadata with the unbounded form


def _is_x(identifier: str | None) -> bool:
    return not identifier or identifier.lower() == "x" or identifier == "*"


def _js_sub(pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str], text: str, *, every: bool) -> str:
    return pattern.sub(replace, text, count=0 if every else 1)


def _g(match: re.Match[str], index: int) -> str:
    return match.group(index) or ""


def _replace_caret(comp: str) -> str:
    def repl(m: re.Match[str]) -> str:
        major, minor, patch, pre = m.group(1), m.group(2), m.group(3), m.group(4)
        if _is_x(major):
            return ""
        if _is_x(minor):
            return f">={major}.0.0 <{int(major) + 1}.0.0-0"
        if _is_x(patch):
            if major == "0":
                return f">={major}.{minor}.0 <{major}.{int(minor) + 1}.0-0"
            return f">={major}.{minor}.0 <{int(major) + 1}.0.0-0"
        low = f">={major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
        if major == "0":
            if minor == "0":
                return f"{low} <{major}.{minor}.{int(patch) + 1}-0"
            return f"{low} <{major}.{int(minor) + 1}.0-0"
        return f"{low} <{int(major) + 1}.0.0-0"

    return _js_sub(_RE_CARET, repl, comp, every=False)


def _replace_tilde(comp: str) -> str:
    def repl(m: re.Match[str]) -> str:
        major, minor, patch, pre = m.group(1), m.group(2), m.group(3), m.group(4)
        if _is_x(major):
            return ""
        if _is_x(minor):
            return f">={major}.0.0 <{int(major) + 1}.0.0-0"
        if _is_x(patch):
            return f">={major}.{minor}.0 <{major}.{int(minor) + 1}.0-0"
        low = f">={major}.{minor}.{patch}" + (f"-{pre}" if pre else "")
        return f"{low} <{major}.{int(minor) + 1}.0-0"

    return _js_sub(_RE_TILDE, repl, comp, every=False)


def _replace_xrange(comp: str) -> str:
    comp = comp.strip()

    def repl(m: re.Match[str]) -> str:
        gtlt, major, minor, patch = _g(m, 1), m.group(2), m.group(3), m.group(4)
        if (_is_x(major) and not _is_x(minor)) or (_is_x(minor) and patch and not _is_x(patch)):
            return comp  # an x before a number: left alone, rejected later
        x_major = _is_x(major)
        x_minor = x_major or _is_x(minor)
        any_x = x_minor or _is_x(patch)
        if gtlt == "=" and any_x:
            gtlt = ""
        pre = ""
        if x_major:
            return "<0.0.0-0" if gtlt in (">", "<") else "*"
        if gtlt and any_x:
            major_n = int(major)
            minor_n = 0 if x_minor else int(minor)
            patch_n = 0
            if gtlt == ">":
                gtlt = ">="
                if x_minor:
                    major_n, minor_n = major_n + 1, 0
                else:
                    minor_n += 1
            elif gtlt == "<=":
                gtlt = "<"
                if x_minor:
                    major_n += 1
                else:
                    minor_n += 1
            if gtlt == "<":
                pre = "-0"
            return f"{gtlt}{major_n}.{minor_n}.{patch_n}{pre}"
        if x_minor:
            return f">={major}.0.0 <{int(major) + 1}.0.0-0"
        if any_x:
            return f">={major}.{minor}.0 <{major}.{int(minor) + 1}.0-0"
        return m.group(0)

    return _js_sub(_RE_XRANGE, repl, comp, every=False)


def _hyphen(m: re.Match[str]) -> str:
    whole_from, f_major, f_minor, f_patch, f_pre = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
    whole_to, t_major, t_minor, t_patch, t_pre = m.group(7), m.group(8), m.group(9), m.group(10), m.group(11)
    if _is_x(f_major):
        low = ""
    elif _is_x(f_minor):
        low = f">={f_major}.0.0"
    elif _is_x(f_patch):
        low = f">={f_major}.{f_minor}.0"
    elif f_pre:
        low = f">={whole_from}"
    else:
        low = f">={whole_from}"
    if _is_x(t_major):
        high = ""
    elif _is_x(t_minor):
        high = f"<{int(t_major) + 1}.0.0-0"
    elif _is_x(t_patch):
        high = f"<{t_major}.{int(t_minor) + 1}.0-0"
    elif t_pre:
        high = f"<={t_major}.{t_minor}.{t_patch}-{t_pre}"
    else:
        high = f"<={whole_to}"
    return f"{low} {high}".strip()


def _parse_comparator_text(comp: str) -> str:
    comp = _RE_BUILD.sub("", comp, count=1)
    comp = " ".join(_replace_caret(c) for c in _SPACES.split(comp.strip()))
    comp = " ".join(_replace_tilde(c) for c in _SPACES.split(comp.strip()))
    comp = " ".join(_replace_xrange(c) for c in _SPACES.split(comp))
    return _RE_STAR.sub("", comp.strip(), count=1)


@dataclass(frozen=True, slots=True)
class Comparator:
    operator: str  # "", "<", "<=", ">", ">="  ("" means equal)
    version: SemVer | None  # None: any version

    @property
    def value(self) -> str:
        return "" if self.version is None else self.operator + str(self.version)

    def test(self, candidate: SemVer) -> bool:
        if self.version is None:
            return True
        order = candidate.compare(self.version)
        return {"": order == 0, "<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[self.operator]


def _comparator(text: str, whole: str) -> Comparator:
    match = _RE_COMPARATOR.match(" ".join(_SPACES.split(text.strip())))
    if match is None:
        raise VersionError(
            f"invalid npm range {whole!r}: {text!r} is not a comparator", hint="see docs.npmjs.com semver"
        )
    operator = _g(match, 1)
    if operator == "=":
        operator = ""
    if not match.group(2):
        return Comparator(operator=operator, version=None)
    return Comparator(operator=operator, version=semver.parse(match.group(2)))


_NULL_SET = "<0.0.0-0"


def _parse_set(text: str, whole: str) -> tuple[Comparator, ...]:
    text = _BUILD_ANYWHERE.sub("", text)
    text = _RE_HYPHENRANGE.sub(_hyphen, text, count=1)
    text = _RE_COMPARATORTRIM.sub(lambda m: _g(m, 1) + _g(m, 2) + _g(m, 3), text)
    text = _RE_TILDETRIM.sub(lambda m: _g(m, 1) + "~", text)
    text = _RE_CARETTRIM.sub(lambda m: _g(m, 1) + "^", text)
    parts = " ".join(_parse_comparator_text(c) for c in text.split(" "))
    raw_comparators = [_RE_GTE0.sub("", c.strip(), count=1) for c in _SPACES.split(parts)]
    by_value: dict[str, Comparator] = {}
    for raw in raw_comparators:
        comparator = _comparator(raw, whole)
        if comparator.value == _NULL_SET:
            return (comparator,)
        by_value[comparator.value] = comparator
    if len(by_value) > 1:
        by_value.pop("", None)
    return tuple(by_value.values())


@dataclass(frozen=True, slots=True)
class NpmRange:
    text: str
    sets: tuple[tuple[Comparator, ...], ...]

    def contains(self, version: SemVer) -> bool:
        return any(_test_set(comparators, version) for comparators in self.sets)


def _test_set(comparators: tuple[Comparator, ...], version: SemVer) -> bool:
    if not all(c.test(version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    return any(
        c.version is not None and c.version.prerelease and c.version.release == version.release for c in comparators
    )


@functools.lru_cache(maxsize=4096)
def parse_range(text: str) -> NpmRange:
    """Parse an npm range as ``new semver.Range(text)`` does; raise ``VersionError`` where it throws."""
    raw = _SPACES.sub(" ", text.strip())
    sets = [s for s in (_parse_set(part.strip(), text) for part in raw.split("||")) if s]
    if not sets:
        raise VersionError(f"invalid npm range {text!r}", hint="see https://docs.npmjs.com/cli/using-npm/semver")
    if len(sets) > 1:
        first = sets[0]
        sets = [s for s in sets if s[0].value != _NULL_SET] or [first]
        for comparators in sets:
            if len(comparators) == 1 and comparators[0].version is None:
                sets = [comparators]
                break
    return NpmRange(text=text, sets=tuple(sets))


def satisfies(version: str, range_text: str) -> bool:
    """``semver.satisfies(version, range)``; an invalid version or range raises ``VersionError``."""
    return parse_range(range_text).contains(semver.parse(version))
