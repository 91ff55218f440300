"""One licence normaliser for catalogers (``to_spdx``: keep what cannot be mapped) and SBOM writers
(``spdx_expression``: valid SPDX or None)."""

from __future__ import annotations

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
