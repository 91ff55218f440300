from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def vulndata(shared_dir: Path) -> Path:
    path = shared_dir / "vulndata"
    if not (path / "README.md").is_file():
        pytest.fail(f"the shared vulnerability data is missing at {path}")
    return path
