"""The Debian comparison's tuple key orders exactly like dpkg's ``verrevcmp`` loop (kept as the reference)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from wharfinger.versions.deb import _run_key, _verrevcmp

EDGES = [
    "",
    "0",
    "00",
    "~",
    "~~",
    "~a",
    "a",
    "1",
    "1.0",
    "1.0~",
    "1.0.1",
    "0~1",
    "1~",
    "1a",
    "1+",
    "01",
    "10",
    "9",
    "a~",
]


def _by_key(a: str, b: str) -> int:
    x, y = _run_key(a), _run_key(b)
    return (x > y) - (x < y)


def test_edge_cases_order_like_verrevcmp() -> None:
    for a, b in itertools.product(EDGES, EDGES):
        assert _by_key(a, b) == _verrevcmp(a, b), (a, b)


_RUNS = st.text(alphabet="0123456789~.+-:aZb", max_size=8)


@settings(max_examples=3000, deadline=None)
@given(a=_RUNS, b=_RUNS, shared=_RUNS)
def test_random_strings_order_like_verrevcmp(a: str, b: str, shared: str) -> None:
    assert _by_key(a, b) == _verrevcmp(a, b)
    # shared prefixes: where "one string ran out" and "~" matter
    assert _by_key(shared + a, shared + b) == _verrevcmp(shared + a, shared + b)
    assert _by_key(shared, shared + b) == _verrevcmp(shared, shared + b)
