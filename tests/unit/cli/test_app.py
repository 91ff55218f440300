from __future__ import annotations

import subprocess
import sys

from wharfinger import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wharfinger", *args], capture_output=True, text=True, check=False)


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"wharfinger {__version__}"


def test_help_documents_exit_codes() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert "Exit codes" in done.stdout


def test_unknown_option_is_a_usage_error_without_traceback() -> None:
    done = run("--no-such-option")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
