"""Every policy example in docs/ validates (docs examples are files a test runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharfinger.policy import load_policies

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "docs" / "examples" / "policy").glob("*.yaml"))


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_validates(path: Path) -> None:
    policies = load_policies(path.read_text(), source=str(path))
    assert policies.policies
