"""``dumps_indented`` writes exactly what ``json.dumps(value, indent=2, ensure_ascii=False)`` writes."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wharfinger.sbom._json import dumps_indented


def _stdlib(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


class _Colour(enum.IntEnum):
    RED = 3  # not 0 or 1, which are also the keys False and True


class _Text(str):
    __slots__ = ()

    def __str__(self) -> str:
        return "not this"


class _Ratio(float):
    def __repr__(self) -> str:
        return "not this"


class _Count(int):
    def __repr__(self) -> str:
        return "not this"


class _Mapping(dict[str, object]):
    pass


class _Items(list[object]):
    pass


@dataclass(frozen=True)
class Case:
    name: str
    value: object


CASES = [
    Case("empty dict", {}),
    Case("empty list", []),
    Case("empty tuple", ()),
    Case("nested empties", {"a": {}, "b": [], "c": [{}, [], [[]], {"d": {}}]}),
    Case("top-level string", 'x\n"y"\\'),
    Case("top-level scalars", [None, True, False, 0, -1, 1.5]),
    Case("True is not 1", {"t": True, "f": False, "one": 1, "zero": 0, "list": [True, 1, False, 0]}),
    Case("int and float subclasses by value", [_Colour.RED, _Count(7), _Ratio(0.5), {"c": _Colour.RED}]),
    Case("str subclass by value", {_Text("k"): _Text("v"), "l": [_Text("w")]}),
    Case("dict and list subclasses", _Mapping(a=_Items([1, _Mapping()]))),
    Case("special floats", [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1e300, 5e-324, 1e16, 0.1]),
    Case("big ints", [2**64, -(2**200), 10**1000]),
    Case("non-str keys", {2: "a", 1.5: "b", True: "c", False: "d", None: "e", float("nan"): "f", _Colour.RED: "g"}),
    Case("keys that collide once written", {1: "int", "1": "str"}),
    Case("control characters", {"\x00\x1f\x7f": "\b\f\n\r\t\x0b", "\u2028": "\u2029\x85"}),
    Case("non-ASCII and lone surrogates", {"é": "日本語 🐳", "\ud800": "\udfff"}),
    Case("tuple as list", {"t": (1, ("a", ()), {"x": (None,)})}),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_same_text_as_json_dumps(case: Case) -> None:
    assert dumps_indented(case.value) == _stdlib(case.value)


@pytest.mark.parametrize(
    "value",
    [{"a": {1, 2}}, [b"bytes"], {"a": [object()]}, {(1, 2): "tuple key"}, {"a": {b"k": 1}}, object()],
    ids=["set value", "bytes item", "object item", "tuple key", "bytes key", "top-level object"],
)
def test_same_type_error_as_json_dumps(value: object) -> None:
    with pytest.raises(TypeError) as stdlib:
        _stdlib(value)
    with pytest.raises(TypeError) as ours:
        dumps_indented(value)
    assert str(ours.value) == str(stdlib.value)


# every code point, surrogates included: json escapes control characters and passes the rest through
_TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["", '"', "\\", "\x00", "\ud83d", "\u2028", "日本"]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**300), max_value=10**300)
    | st.floats()
    | st.sampled_from([-0.0, 1e300, -1e-300, float("nan"), float("inf"), float("-inf")])
    | _TEXT
)
_KEYS = _TEXT | st.none() | st.booleans() | st.integers() | st.floats()
_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(_KEYS, children, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=500, deadline=None)
@given(_VALUES)
def test_any_json_value_gives_the_same_text_as_json_dumps(value: object) -> None:
    assert dumps_indented(value) == _stdlib(value)
