"""OSV ``affected[]`` evaluation: is one installed version inside an advisory's ranges?

Semantics are the OSV schema's, exactly:

* Each ``SEMVER``/``ECOSYSTEM`` range is evaluated on its own; the version is affected when any
  range or the enumerated ``versions`` list says so.
* Events are sorted by version (``introduced: "0"`` first) and walked in order: ``introduced``
  at or below the version opens the range, ``fixed`` at or below it closes it, ``last_affected``
  strictly below it closes it. A ``limit`` at or below the version ends the range.
* Events at the same version keep their order in the record (a stable sort). That is what
  OSV.dev's own enumerated ``versions`` lists show for records whose intervals touch:
  PYSEC-2022-236 (``fixed 3.1.1`` before ``introduced 3.1.1``: 3.1.1 affected) and
  PYSEC-2022-42972 (``introduced 0.13.0`` before ``fixed 0.13.0``: 0.13.0 not affected).
* ``GIT`` ranges name commits, not versions: they are ignored, and the reason is returned.
* ``SEMVER`` ranges use Semantic Versioning (Go's spelling in the Go ecosystem); ``ECOSYSTEM``
  ranges use the ecosystem's own scheme.

Nothing here guesses: a version or event that does not parse raises ``VersionError`` for the
caller to report.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from wharfinger.versions import SCHEMES, Scheme, scheme_for
from wharfinger.vulndb.model import Affected, Event, EventKind, Range, RangeType

__all__ = ["Evaluation", "RangeHit", "evaluate", "range_scheme"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeHit:
    """Why a version is affected: the range (or list) that contains it, and what would fix it."""

    range_index: int | None  # index into ``Affected.ranges``; None when the versions list matched
    range_type: RangeType | None
    introduced: str | None  # the event that opened the interval containing the version
    closing: Event | None  # the next fixed/last_affected/limit event after it, if any
    fixed: tuple[str, ...]  # fixed versions above the installed one in that range

    def describe(self, version: str) -> str:
        if self.range_index is None:
            return f"{version} is listed among the advisory's affected versions"
        low = f"introduced {self.introduced}" if self.introduced is not None else "no lower bound"
        high = f"{self.closing.kind.value} {self.closing.value}" if self.closing else "no fix event"
        return f"{version} is in the {self.range_type} range [{low}, {high}]"


def range_scheme(ecosystem: str, range_type: RangeType) -> Scheme:
    """The scheme that orders a range's events: SEMVER ranges are semver (Go spells it its way)."""
    if range_type is RangeType.SEMVER:
        return SCHEMES["go"] if ecosystem.split(":", 1)[0] == "Go" else SCHEMES["semver"]
    return scheme_for(ecosystem)


def _is_zero(event: Event) -> bool:
    return event.kind is EventKind.INTRODUCED and event.value == "0"


def _sorted_events(events: tuple[Event, ...], scheme: Scheme) -> list[Event]:
    """Events in version order; ``introduced: "0"`` and ``limit: "*"`` sit at the ends."""

    def order(a: Event, b: Event) -> int:
        if _is_zero(a) or _is_zero(b):
            return (not _is_zero(a)) - (not _is_zero(b))
        if a.value == "*" or b.value == "*":  # an unbounded limit
            return (a.value == "*") - (b.value == "*")
        return scheme.compare(a.value, b.value)  # ties keep record order: sorted() is stable

    return sorted(events, key=functools.cmp_to_key(order))


def _in_range(rng: Range, index: int, version: str, scheme: Scheme) -> RangeHit | None:
    events = _sorted_events(rng.events, scheme)
    affected = False
    opened_by: str | None = None
    closing: Event | None = None
    for position, event in enumerate(events):
        if event.kind is EventKind.LIMIT:
            if event.value != "*" and scheme.compare(version, event.value) >= 0:
                affected = False
                break
            continue
        if event.kind is EventKind.INTRODUCED:
            if _is_zero(event) or scheme.compare(version, event.value) >= 0:
                affected, opened_by = True, event.value
                closing = next((e for e in events[position + 1 :] if e.kind is not EventKind.INTRODUCED), None)
        elif event.kind is EventKind.FIXED:
            if scheme.compare(version, event.value) >= 0:
                affected = False
        elif event.kind is EventKind.LAST_AFFECTED and scheme.compare(version, event.value) > 0:
            affected = False
    if not affected:
        return None
    fixed = tuple(e.value for e in events if e.kind is EventKind.FIXED and scheme.compare(e.value, version) > 0)
    return RangeHit(range_index=index, range_type=rng.type, introduced=opened_by, closing=closing, fixed=fixed)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    hit: RangeHit | None  # None: not affected
    ignored_ranges: tuple[str, ...] = ()  # reasons, one per range that could not be evaluated


def evaluate(affected: Affected, version: str) -> Evaluation:
    """Evaluate ``version`` against one ``affected[]`` entry (``VersionError`` if it cannot)."""
    ignored: list[str] = []
    ecosystem_scheme = scheme_for(affected.ecosystem)
    ecosystem_scheme.parse(version)  # an installed version the scheme rejects is never matched
    for index, rng in enumerate(affected.ranges):
        if rng.type is RangeType.GIT:
            ignored.append(f"GIT range over {rng.repo or 'a repository'} ignored: it names commits, not versions")
            continue
        scheme = range_scheme(affected.ecosystem, rng.type)
        hit = _in_range(rng, index, version, scheme)
        if hit is not None:
            return Evaluation(hit=hit, ignored_ranges=tuple(ignored))
    for listed in affected.versions:
        if listed == version or (ecosystem_scheme.is_valid(listed) and ecosystem_scheme.compare(listed, version) == 0):
            hit = RangeHit(range_index=None, range_type=None, introduced=None, closing=None, fixed=())
            return Evaluation(hit=hit, ignored_ranges=tuple(ignored))
    return Evaluation(hit=None, ignored_ranges=tuple(ignored))
