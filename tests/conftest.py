"""Suite-wide fixtures and rules.

* ``shared_dir``: the read-only ``../shared`` folder beside the project (or ``$WHARFINGER_SHARED``).
  Missing vectors fail the run; they never skip it.
* ``registry_plain`` / ``registry_basic`` / ``registry_token``, ``small_image``,
  ``multi_platform_image``: real ``docker-registry`` instances and real Debian-package images
  (``tests/testkit/``), reusable by every area.
* In CI (``CI=true``) a skipped test is a failure: a missing tool must break the build, not
  quietly shrink it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# Shared real-part fixtures (registries, token service, images): see tests/testkit/.
from testkit.shared import ROOT, SHARED

pytest_plugins = ["testkit.registry", "testkit.images"]

_skipped: list[str] = []


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED / "vectors").is_dir():
        pytest.fail(
            f"the shared vectors are missing at {SHARED}; check out the steering repo's shared/ beside the "
            "project or set WHARFINGER_SHARED"
        )
    return SHARED


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and os.environ.get("CI") == "true":
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped:
        terminalreporter.write_line(
            f"CI=true: {len(_skipped)} skipped test(s) count as failures: " + ", ".join(_skipped[:20]),
            red=True,
        )


@pytest.fixture(scope="session")
def run_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m wharfinger ARGS`` as a user would, from this checkout's ``src``."""

    def run(
        *args: str, env: dict[str, str] | None = None, input_text: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, **(env or {})}
        full_env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), full_env.get("PYTHONPATH", "")])
        return subprocess.run(
            [sys.executable, "-m", "wharfinger", *args],
            capture_output=True,
            text=True,
            check=False,
            env=full_env,
            input=input_text,
            timeout=timeout,
        )

    return run
