"""Modules that only some images or commands need stay out of a process until they are used.

Each row is a module every `sbom`/`scan` of an image imports, and one it must not import with it:
the second is imported inside the function that needs it, and a fresh interpreter proves it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("imported", "left_out"),
    [
        # the rpm database readers: only for an image that has an rpm database
        ("wharfinger.inventory.catalogers.rpm", "wharfinger.inventory.rpmdb"),
        # referrers (signatures, attached SBOMs): pulling an image never lists them
        ("wharfinger.oci.registry_source", "wharfinger.oci.referrers"),
    ],
)
def test_importing_a_module_leaves_what_it_uses_lazily_out(imported: str, left_out: str) -> None:
    code = f"import sys, {imported}; print({left_out!r} in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False"]


@pytest.mark.parametrize(
    ("licence", "normalised", "library_loaded"),
    [
        ("MIT", "MIT", False),  # the key index alone decides: read as a data file
        ("apache-2.0 or mit", "Apache-2.0 OR MIT", False),
        ("GPL-2.0+ WITH Classpath-exception-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0", False),
        ("MIT AND (", None, True),  # malformed: only the library's parser can say
    ],
)
def test_licences_are_decided_without_importing_license_expression(
    licence: str, normalised: str | None, library_loaded: bool
) -> None:
    code = (
        "import sys; from wharfinger.inventory.licenses import spdx_expression; "
        f"print(spdx_expression({licence!r})); print('license_expression' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [str(normalised), str(library_loaded)]
