from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from wharfinger.vulndb.codec import advisory_from_dict, advisory_to_dict
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity

text = st.text(min_size=1, max_size=12)
# hypothesis wants naive bounds and adds the timezone itself
times = st.none() | st.datetimes(
    timezones=st.just(UTC),
    min_value=datetime(1990, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
)
events = st.builds(Event, kind=st.sampled_from(EventKind), value=text)
ranges = st.builds(Range, type=st.sampled_from(RangeType), events=st.tuples(events, events), repo=st.none() | text)
affected = st.builds(
    Affected,
    ecosystem=text,
    name=text,
    purl=st.none() | text,
    ranges=st.lists(ranges, max_size=2).map(tuple),
    versions=st.lists(text, max_size=3).map(tuple),
    fix_state=st.sampled_from(FixState),
    severity=st.none() | st.sampled_from(Severity),
)
advisories = st.builds(
    Advisory,
    id=text,
    aliases=st.lists(text, max_size=3).map(tuple),
    related=st.lists(text, max_size=2).map(tuple),
    summary=st.text(max_size=20),
    details=st.text(max_size=40),
    published=times,
    modified=times,
    withdrawn=times,
    severity=st.sampled_from(Severity),
    severity_source=st.sampled_from(["", "ghsa", "cvss:3.1", "score:3.0", "distro"]),
    cvss_vectors=st.lists(text, max_size=2).map(tuple),
    cvss_score=st.none() | st.floats(0, 10),
    epss=st.none() | st.floats(0, 1),
    kev=st.booleans(),
    affected=st.lists(affected, max_size=3).map(tuple),
    references=st.lists(text, max_size=2).map(tuple),
    sources=st.lists(text, max_size=2).map(tuple),
)


@given(advisories)
def test_storage_round_trip(advisory: Advisory) -> None:
    stored = json.loads(json.dumps(advisory_to_dict(advisory)))
    assert advisory_from_dict(stored) == advisory


@given(advisories)
def test_heads_leave_packages_out(advisory: Advisory) -> None:
    head = advisory_from_dict(json.loads(json.dumps(advisory_to_dict(advisory, include_affected=False))))
    assert head.affected == ()
    assert head.id == advisory.id
