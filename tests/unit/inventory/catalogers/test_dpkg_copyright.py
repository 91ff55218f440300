"""``parse_copyright_licenses`` finds what the first, plainly written version found, on real and generated files.

The reference below is that version: a ``^License:`` pattern with ``re.MULTILINE``, which the
cataloger replaced because ``re`` tries it at every character (5x slower on deb-min's files).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wharfinger.inventory.catalogers.dpkg import parse_copyright_licenses

_REFERENCE_FIELD = re.compile(r"^License:[ \t]*(?P<value>\S.*?)\s*$", re.MULTILINE)
_REFERENCE_COMMON = re.compile(r"/usr/share/common-licenses/(?P<name>[0-9A-Za-z_.+\-]+)")
SYFT_DEBIAN = "fixtures/inventory/syft/syft/pkg/cataloger/debian/testdata"


def _reference(text: str) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for m in _REFERENCE_FIELD.finditer(text):
        found.setdefault(m.group("value"), None)
    for m in _REFERENCE_COMMON.finditer(text):
        found.setdefault(m.group("name").rstrip("."), None)
    return tuple(found)


def _copyright_files(shared_dir: Path) -> list[Path]:
    """The shared fixtures' copyright files and this Debian host's own (hundreds of real files)."""
    fixtures = sorted((shared_dir / SYFT_DEBIAN / "copyright").iterdir())
    fixtures += sorted((shared_dir / SYFT_DEBIAN).glob("*/usr/share/doc/*/copyright"))
    return fixtures + sorted(Path("/usr/share/doc").glob("*/copyright"))


def test_real_copyright_files_give_what_the_reference_gives(shared_dir: Path) -> None:
    paths = _copyright_files(shared_dir)
    assert len(paths) > 20, "the shared fixtures and this Debian host have copyright files"
    differ = []
    licences = 0
    for path in paths:
        text = path.read_bytes().decode("utf-8", "replace")  # as the cataloger reads them
        expected = _reference(text)
        licences += len(expected)
        if parse_copyright_licenses(text) != expected:
            differ.append(str(path))
    assert differ == []
    assert licences > len(paths), "the files name licences, so the comparison compares something"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("License: MIT", ("MIT",)),
        ("License: MIT \t\r\n", ("MIT",)),
        ("License:\tGPL-2+ or Artistic  \nLicense: MIT\n", ("GPL-2+ or Artistic", "MIT")),
        ("License:\n MIT\nLicense:  \nLicense:\r\n", ()),  # no value on the field's line: nothing
        ("License:\x85MIT\nLicense:\xa0BSD", ()),  # other whitespace is not the separator
        ("License: MIT\xa0\u2028\x1c\n", ("MIT",)),  # but is trailing whitespace
        ("License: a\rb\x0bc\n", ("a\rb\x0bc",)),  # only \n ends the line
        ("see License: MIT\n License: BSD\nLicense: ISC", ("ISC",)),  # only at a line's start
        ("License: MIT\n\n\nLicense: MIT\n\n \nLicense: BSD", ("MIT", "BSD")),
        ("/usr/share/common-licenses/GPL-2.\nLicense: GPL-2", ("GPL-2",)),  # fields first, then references
    ],
    ids=repr,
)
def test_license_fields(text: str, expected: tuple[str, ...]) -> None:
    assert parse_copyright_licenses(text) == expected == _reference(text)


_PIECES = st.sampled_from(
    [
        *("License:", "License: ", "License:\t", "License", ":", "MIT", "GPL-2+", "x"),
        *("/usr/share/common-licenses/", "GPL-2.", "\n", "\n\n", " ", "\t"),
        *("\r", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000"),  # whitespace that is not " \t\n"
    ]
)
_TEXTS = st.lists(_PIECES | st.text(max_size=4), max_size=30).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_TEXTS)
def test_generated_copyright_text_gives_what_the_reference_gives(text: str) -> None:
    assert parse_copyright_licenses(text) == _reference(text)
