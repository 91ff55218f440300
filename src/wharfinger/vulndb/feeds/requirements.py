"""Version requirement sets ("patched: >= 1.2.3, ~> 2.0") → OSV range events.

RustSec and RubySec list the *safe* versions (patched and unaffected requirements); OSV lists
the *affected* ones as events. The affected set is the complement of the union of the safe
intervals, so the intervals have to be ordered. The ordering key here is deliberately simple
(numeric and alphanumeric segments, pre-releases before releases): it orders interval bounds
written by advisory authors; matching compares installed versions with ``wharfinger.versions``.

One approximation is inherent to OSV: a safe interval closed at its top (``<= 1.2``) makes the
affected range start *after* 1.2, which OSV cannot say; we start it *at* 1.2 (reporting 1.2
too, never missing a version).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.model import Event, EventKind

__all__ = ["Interval", "affected_events", "cargo_interval", "gem_interval", "order_key"]

_SEGMENT = re.compile(r"\d+|[A-Za-z]+")
_COMPARATOR = re.compile(r"^\s*(~>|\^|~|>=|<=|!=|>|<|==|=)?\s*v?([0-9A-Za-z][0-9A-Za-z.+\-_]*)\s*$")


def order_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Segments as comparable tuples; a trailing terminator puts "1.0.rc1" before "1.0" before "1.0.1"."""
    text = version.split("+", 1)[0]
    segments = [(2, int(raw), "") if raw.isdigit() else (0, 0, raw.lower()) for raw in _SEGMENT.findall(text)]
    first_text = next((i for i, seg in enumerate(segments) if seg[0] == 0), len(segments))
    release, prerelease = segments[:first_text], segments[first_text:]
    while release and release[-1] == (2, 0, ""):
        release.pop()  # 1.0 == 1.0.0, and 1.0.beta == 1.beta (RubyGems' canonical segments)
    segments = release + prerelease
    return (*segments, (1, 0, ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class Interval:
    """A set of versions ``lower .. upper``; ``None`` bounds are open-ended."""

    lower: str | None = None
    lower_inclusive: bool = True
    upper: str | None = None
    upper_inclusive: bool = False


def _bump(version: str, position: int, *, width: int = 1) -> str:
    """Increment the ``position``-th number and drop the rest; at least ``width`` numbers (semver: 3)."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("-", 1)[0].split("+", 1)[0])] or [0]
    numbers = [*numbers, 0, 0, 0][: max(position + 1, 1)]
    numbers[position] += 1
    numbers += [0] * (width - len(numbers))
    return ".".join(str(n) for n in numbers)


def _intersect(parts: list[Interval]) -> Interval:
    lower: str | None = None
    lower_inclusive = True
    upper: str | None = None
    upper_inclusive = False
    for part in parts:
        if part.lower is not None and (
            lower is None
            or order_key(part.lower) > order_key(lower)
            or (order_key(part.lower) == order_key(lower) and not part.lower_inclusive)
        ):
            lower, lower_inclusive = part.lower, part.lower_inclusive
        if part.upper is not None and (
            upper is None
            or order_key(part.upper) < order_key(upper)
            or (order_key(part.upper) == order_key(upper) and not part.upper_inclusive)
        ):
            upper, upper_inclusive = part.upper, part.upper_inclusive
    return Interval(lower=lower, lower_inclusive=lower_inclusive, upper=upper, upper_inclusive=upper_inclusive)


def _comparator(text: str, *, bare_is_caret: bool) -> Interval:
    match = _COMPARATOR.match(text)
    if match is None:
        raise AdvisoryFormatError(f"version requirement {text!r} does not parse")
    op, version = match.group(1) or ("^" if bare_is_caret else "="), match.group(2)
    numbers = re.findall(r"\d+", version.split("-", 1)[0])
    if op in {"=", "=="}:
        return Interval(lower=version, upper=version, upper_inclusive=True)
    if op == ">=":
        return Interval(lower=version)
    if op == ">":
        return Interval(lower=version, lower_inclusive=False)
    if op == "<":
        return Interval(upper=version)
    if op == "<=":
        return Interval(upper=version, upper_inclusive=True)
    if op == "~>":  # RubyGems pessimistic: ~> 1.2.3 is >= 1.2.3, < 1.3
        position = max(len(version.split(".")) - 2, 0)
        return Interval(lower=version, upper=_bump(version, position))
    if op == "~":  # Cargo tilde: ~1.2.3 is >= 1.2.3, < 1.3.0; ~1 is < 2
        return Interval(lower=version, upper=_bump(version, 0 if len(numbers) == 1 else 1, width=3))
    if op == "^":  # Cargo caret: the left-most non-zero part may not change
        position = next((i for i, n in enumerate(numbers) if int(n) != 0), len(numbers) - 1)
        return Interval(lower=version, upper=_bump(version, position, width=3))
    raise AdvisoryFormatError(f"version requirement operator {op!r} in {text!r} is not supported")


def cargo_interval(requirement: str) -> Interval:
    """A Cargo requirement (``">= 1.2, < 1.5"``, ``"^0.9.5"``, ``"*"``) as one interval."""
    if requirement.strip() in {"*", ""}:
        return Interval()
    parts = [_comparator(p, bare_is_caret=True) for p in requirement.split(",") if p.strip()]
    return _intersect(parts)


def gem_interval(requirement: str) -> Interval:
    """A Gem::Requirement (``"~> 1.2.3, >= 1.2.3.4"``) as one interval; ``!=`` parts are ignored."""
    parts = [p for p in requirement.split(",") if p.strip() and not p.strip().startswith("!=")]
    if not parts:
        return Interval()
    return _intersect([_comparator(p, bare_is_caret=False) for p in parts])


def affected_events(safe: list[Interval]) -> tuple[Event, ...]:
    """OSV events for every version outside all ``safe`` intervals (``"0"`` stands for minus infinity)."""
    ordered = sorted(
        (i for i in safe if not _empty(i)),
        key=lambda i: order_key(i.lower) if i.lower is not None else (),
    )
    events: list[Event] = []
    cursor: str | None = "0"  # the start of the affected stretch; None once a safe set reaches infinity
    at_start = True  # the cursor is minus infinity, not the version "0"
    lowest = order_key("0")
    for interval in ordered:
        if cursor is None:
            break
        if at_start:
            gap = interval.lower is not None and not (interval.lower_inclusive and order_key(interval.lower) == lowest)
        else:
            gap = interval.lower is not None and order_key(interval.lower) > order_key(cursor)
        if gap:
            assert interval.lower is not None  # noqa: S101 -- gap implies a lower bound
            events.append(Event(kind=EventKind.INTRODUCED, value=cursor))
            kind = EventKind.FIXED if interval.lower_inclusive else EventKind.LAST_AFFECTED
            events.append(Event(kind=kind, value=interval.lower))
        if interval.upper is None:
            cursor = None
        elif gap or at_start or order_key(interval.upper) > order_key(cursor):
            cursor = interval.upper
        at_start = False
    if cursor is not None:
        events.append(Event(kind=EventKind.INTRODUCED, value=cursor))
    return tuple(events)


def _empty(interval: Interval) -> bool:
    if interval.lower is None or interval.upper is None:
        return False
    low, high = order_key(interval.lower), order_key(interval.upper)
    return low > high or (low == high and not (interval.lower_inclusive and interval.upper_inclusive))
