"""``json.dumps(value, indent=2, ensure_ascii=False)``, byte for byte, in about a third of the time.

Every SBOM writer ends with that call, and on CPython 3.11 ``indent`` turns off the C encoder: the
pure-Python one nests a generator per container and yields every piece through each level (9 ms
for a 122-package CycloneDX document, against 2 ms compact). ``dumps_indented`` writes the same
text with one recursive function appending to one list, and leaves strings to the C
``encode_basestring``. It keeps the stdlib's rules: ``{}`` and ``[]`` for empty containers,
tuples as lists, ``True`` before ``int``, ``int.__repr__`` for ``int`` subclasses, ``float.__repr__``
and ``NaN``/``Infinity`` for floats, non-``str`` keys converted as ``json`` converts them, and the
same ``TypeError`` for anything else. One difference: it does not look for cycles, so a circular
value raises ``RecursionError`` where ``json`` raises ``ValueError``; the writers build fresh trees.
"""

from __future__ import annotations

from json.encoder import encode_basestring

__all__ = ["dumps_indented"]

_INDENT = "  "  # indent=2
_INFINITY = float("inf")
_CONTAINERS = (dict, list, tuple)  # a tuple: isinstance checks it faster than a union


def dumps_indented(value: object) -> str:
    """The text of ``json.dumps(value, indent=2, ensure_ascii=False)``."""
    if isinstance(value, _CONTAINERS):
        out: list[str] = []
        _write(value, out, "\n")
        return "".join(out)
    return _scalar(value)


def _write(value: dict[object, object] | list[object] | tuple[object, ...], out: list[str], newline: str) -> None:
    """Append ``value``, which starts after ``newline`` (a newline and its indent), to ``out``."""
    if not value:
        out.append("{}" if isinstance(value, dict) else "[]")
        return
    inner = newline + _INDENT
    separator = "," + inner
    enc = encode_basestring
    if isinstance(value, dict):
        start = "{" + inner
        for key, item in value.items():
            text_key = enc(key if key.__class__ is str else _key(key))
            # the common cases first, each written with one append
            if item.__class__ is str:
                out.append(f"{start}{text_key}: {enc(item)}")
            elif isinstance(item, _CONTAINERS):
                out.append(f"{start}{text_key}: ")
                _write(item, out, inner)
            else:
                out.append(f"{start}{text_key}: {_scalar(item)}")
            start = separator
        out.append(newline + "}")
    else:
        start = "[" + inner
        for item in value:
            if item.__class__ is str:
                out.append(start + enc(item))
            elif isinstance(item, _CONTAINERS):
                out.append(start)
                _write(item, out, inner)
            else:
                out.append(start + _scalar(item))
            start = separator
        out.append(newline + "]")


def _scalar(value: object) -> str:
    # json.encoder._make_iterencode's order: str subclasses are strings, True is not the int 1
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)  # an IntEnum is its number, not its repr
    if isinstance(value, float):
        return _float(value)
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _float(value: float) -> str:
    if value != value:  # noqa: PLR0124 -- NaN is the one float not equal to itself
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _key(key: object) -> str:
    """A non-``str`` key as ``json`` writes it; the SBOM writers only use ``str`` keys."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, int | float):  # written as the scalar would be (True as "true")
        return _scalar(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
