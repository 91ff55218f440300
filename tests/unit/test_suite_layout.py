"""The suite's own layout: test modules have unique names (pytest imports them under one rootdir)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_test_module_names_are_unique() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    duplicates = sorted(name for name, count in names.items() if count > 1)
    assert not duplicates, f"rename these test modules, pytest cannot import two of the same name: {duplicates}"
