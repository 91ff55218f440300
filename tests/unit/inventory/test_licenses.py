"""One licence normaliser for catalogers (``to_spdx``: keep what cannot be mapped) and SBOM writers
(``spdx_expression``: valid SPDX or None)."""

from __future__ import annotations

import random

import pytest

from wharfinger.inventory.licenses import spdx_expression, to_spdx

# raw text, the valid SPDX expression (None when there is none)
CASES = [
    ("mit", "MIT"),
    ("The Apache Software License, Version 2.0", "Apache-2.0"),
    ("https://www.apache.org/licenses/LICENSE-2.0.txt", "Apache-2.0"),
    ("License :: OSI Approved :: MIT License", "MIT"),
    ("(MIT OR Apache-2.0)", "MIT OR Apache-2.0"),
    ("mit or apache-2.0", "MIT OR Apache-2.0"),
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPLv2+ and LGPLv2+", "GPL-2.0-or-later AND LGPL-2.0-or-later"),
    ("MPL-1.1 or GPL-2", "MPL-1.1 OR GPL-2.0-only"),
    ("BSD-3-clause", "BSD-3-Clause"),
    ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
    ("CDDL + GPLv2 with classpath exception", "CDDL-1.1 OR GPL-2.0-only WITH Classpath-exception-2.0"),
    ("public-domain", None),
    ("BSD-3-clause and/or GPL-3+", None),
    ("MIT and (BSD or GPLv2+)", None),
    ("https://example.com/our-licence", None),
    ("Some Custom Licence", None),
    ("", None),
]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_spdx_expression_is_valid_spdx_or_none(raw: str, expected: str | None) -> None:
    assert spdx_expression(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_to_spdx_maps_what_is_unambiguous_and_keeps_the_rest(raw: str, expected: str | None) -> None:
    kept = raw.strip().removeprefix("License :: OSI Approved :: ")
    assert to_spdx(raw) == (expected if expected is not None else kept)
    assert spdx_expression(to_spdx(raw)) == expected  # writers accept what catalogers stored, unchanged


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("License :: OSI Approved :: BSD License", "BSD License"),
        ("  Some Custom Licence ", "Some Custom Licence"),
        ("Public Domain", "LicenseRef-Public-Domain"),
    ],
)
def test_to_spdx_keeps_unmapped_text_and_names_public_domain(raw: str, kept: str) -> None:
    assert to_spdx(raw) == kept
    assert spdx_expression(kept) is None  # an SPDX writer declares its text as a LicenseRef


def _library_normalised(candidate: str) -> str | None:
    from license_expression import get_spdx_licensing

    info = get_spdx_licensing().validate(candidate)
    return None if info.errors or info.normalized_expression is None else str(info.normalized_expression)


def _host_copyright_licences() -> list[str]:
    """Every licence string in this Debian host's own copyright files (real, varied data)."""
    from pathlib import Path

    from wharfinger.inventory.catalogers.dpkg import parse_copyright_licenses

    found: set[str] = set()
    for path in sorted(Path("/usr/share/doc").glob("*/copyright")):
        try:
            found.update(parse_copyright_licenses(path.read_text(errors="replace")))
        except OSError:
            continue
    return sorted(found)


def _nested_expressions(rng: random.Random, keys: list[str], exceptions: list[str], *, count: int) -> list[str]:
    def expression(depth: int) -> str:
        if depth > 2 or rng.random() < 0.4:
            key = rng.choice(keys)
            key = key.lower() if rng.random() < 0.3 else key
            return key + (f" WITH {rng.choice(exceptions)}" if rng.random() < 0.1 else "")
        joined = f" {rng.choice(['AND', 'OR'])} ".join(expression(depth + 1) for _ in range(rng.randint(2, 3)))
        return f"({joined})" if rng.random() < 0.5 else joined

    return [expression(0) for _ in range(count)]


def test_the_fast_path_agrees_with_license_expression() -> None:
    from wharfinger.inventory.licenses import _simple_expression, _spdx_keys, _with_aliases

    licences, exceptions = _spdx_keys()
    keys = sorted(set(licences.values()))[::9]  # every 9th key: the library validates ~10 ms each
    former = sorted(alias for alias, key in licences.items() if alias != key.lower())[::5]
    corpus = [*keys, *(k.lower() for k in keys), *former]  # canonical, lower-cased and former keys
    corpus += [f"{a} AND {b}" for a, b in zip(keys, reversed(keys), strict=True)]
    corpus += [f"{a} OR {b} OR {a}" for a, b in zip(keys[::3], keys[1::3], strict=False)]
    corpus += [f"{a} WITH {e}" for a, e in zip(keys[::4], sorted(set(exceptions.values())), strict=False)]
    corpus += ["MIT AND Zlib OR BSD-3-Clause", "(MIT)", "MIT WITH MIT", "LicenseRef-x", "NotALicence AND MIT"]
    corpus += [
        "((MIT))",
        "(MIT AND Zlib) AND BSD-3-Clause",
        "MIT OR (Zlib",
        "MIT AND",
        "(MIT OR BSD-3-Clause) AND Zlib",
        # trove classifier names: words no key spells, in shapes that are not expressions at all
        "Historical Permission Notice and Disclaimer (HPND)",
        "GNU Library or Lesser General Public License (LGPL)",
        "NotALicence OR (MIT",
        "MIT and (Foo",
        "Foo) OR MIT",
        "(BSD License)",
        "mit with NotAnException",
    ]
    rng = random.Random(7)  # noqa: S311 -- a reproducible corpus, not a secret
    corpus += _nested_expressions(rng, keys, sorted(set(exceptions.values())), count=150)
    host = [c for c in (_with_aliases(t) for t in _host_copyright_licences()) if c is not None]
    assert len(host) > 20, "this Debian host has copyright files"
    answered = 0
    for candidate in [*corpus, *host]:
        decided, fast = _simple_expression(candidate)
        if decided:
            answered += 1
            assert fast == _library_normalised(candidate), candidate
    assert answered > len(keys)  # the fast path does answer the common shapes


def test_the_index_is_read_as_json_reads_it() -> None:
    """The fast reading of license-expression's index gives exactly the entries ``json`` gives, from
    the installed library's file; a layout it does not know falls back to ``json``."""
    import json

    from wharfinger.inventory.licenses import _index_entries, _library_data

    data = _library_data("scancode-licensedb-index.json")
    by_json = [
        (e["spdx_license_key"], tuple(e.get("other_spdx_license_keys") or ()), bool(e.get("is_exception")))
        for e in json.loads(data)
        if e.get("spdx_license_key") is not None
    ]
    assert len(by_json) > 2000  # the real index: thousands of licences
    assert _index_entries(data) == by_json
    reordered = json.dumps(json.loads(data), sort_keys=True).encode()  # a layout the fast reading cannot read
    assert _index_entries(reordered) == by_json
