from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wharfinger.vulndb.feeds.requirements import (
    Interval,
    affected_events,
    cargo_interval,
    gem_interval,
    order_key,
)
from wharfinger.vulndb.model import EventKind


def is_affected(events, version: str) -> bool:
    """A tiny independent OSV evaluator over `order_key` (events sorted as written)."""
    key = order_key(version)
    affected = False
    for event in events:
        bound = order_key(event.value) if event.value != "0" else ()
        if event.kind is EventKind.INTRODUCED and key >= bound:
            affected = True
        elif (event.kind is EventKind.FIXED and key >= bound) or (
            event.kind is EventKind.LAST_AFFECTED and key > bound
        ):
            affected = False
    return affected


def in_interval(interval: Interval, version: str) -> bool:
    key = order_key(version)
    if interval.lower is not None:
        low = order_key(interval.lower)
        if key < low or (key == low and not interval.lower_inclusive):
            return False
    if interval.upper is not None:
        high = order_key(interval.upper)
        if key > high or (key == high and not interval.upper_inclusive):
            return False
    return True


@dataclass(frozen=True)
class Case:
    requirement: str
    inside: tuple[str, ...]
    outside: tuple[str, ...]


GEM_CASES = [
    Case("~> 1.2.3", ("1.2.3", "1.2.9"), ("1.3", "1.2.2", "2.0")),
    Case("~> 1.2", ("1.2", "1.9.9"), ("2.0", "1.1")),
    Case("~> 1.2.3, >= 1.2.3.4", ("1.2.3.4", "1.2.5"), ("1.2.3.3", "1.3.0")),
    Case(">= 2.2.1", ("2.2.1", "10.0"), ("2.2.0", "2.2.1.rc1")),
    Case("< 1.0", ("0.9", "1.0.beta"), ("1.0",)),
]
CARGO_CASES = [
    Case("^0.9.5", ("0.9.5", "0.9.99"), ("0.10.0", "0.9.4")),
    Case("^1.2.3", ("1.2.3", "1.99.0"), ("2.0.0",)),
    Case("^0.0.3", ("0.0.3",), ("0.0.4",)),
    Case("~1.2.3", ("1.2.9",), ("1.3.0",)),
    Case(">= 1.2, < 1.5", ("1.2.0", "1.4.9"), ("1.5.0", "1.1.9")),
    Case("1.2.3", ("1.2.3", "1.9.0"), ("2.0.0",)),  # a bare Cargo version is a caret requirement
]


@pytest.mark.parametrize("case", GEM_CASES, ids=lambda c: c.requirement)
def test_gem_requirements(case: Case) -> None:
    interval = gem_interval(case.requirement)
    assert all(in_interval(interval, v) for v in case.inside)
    assert not any(in_interval(interval, v) for v in case.outside)


@pytest.mark.parametrize("case", CARGO_CASES, ids=lambda c: c.requirement)
def test_cargo_requirements(case: Case) -> None:
    interval = cargo_interval(case.requirement)
    assert all(in_interval(interval, v) for v in case.inside)
    assert not any(in_interval(interval, v) for v in case.outside)


def test_rubysec_style_complement() -> None:
    events = affected_events([gem_interval("~> 1.2.3, >= 1.2.3.4"), gem_interval(">= 2.2.1"), gem_interval("< 1.0")])
    assert [(e.kind.value, e.value) for e in events] == [
        ("introduced", "1.0"),
        ("fixed", "1.2.3.4"),
        ("introduced", "1.3"),
        ("fixed", "2.2.1"),
    ]


def test_no_safe_versions_means_everything_is_affected() -> None:
    assert [(e.kind.value, e.value) for e in affected_events([])] == [("introduced", "0")]


versions = st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 4)).map(lambda t: ".".join(map(str, t)))
bounds = st.one_of(st.none(), versions)


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    return Interval(
        lower=draw(bounds),
        lower_inclusive=draw(st.booleans()),
        upper=draw(bounds),
        upper_inclusive=draw(st.booleans()),
    )


@given(safe=st.lists(intervals(), max_size=4), probe=versions)
def test_events_are_the_complement_of_the_safe_sets(safe: list[Interval], probe: str) -> None:
    events = affected_events(safe)
    expected = not any(in_interval(i, probe) for i in safe)
    # The one documented approximation: a safe set closed at the top (<= X) makes OSV start the affected
    # stretch at X itself, so X is reported although safe. Never the other way round (no missed version).
    boundary = any(i.upper == probe and i.upper_inclusive for i in safe) or any(
        i.lower == probe and not i.lower_inclusive for i in safe
    )
    if boundary:
        assert is_affected(events, probe) or not expected
    else:
        assert is_affected(events, probe) == expected
