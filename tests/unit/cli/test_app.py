from __future__ import annotations

from wharfinger import __version__


def test_version(run_cli) -> None:
    done = run_cli("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"wharfinger {__version__}"


def test_help_documents_exit_codes(run_cli) -> None:
    done = run_cli("--help")
    assert done.returncode == 0
    assert "Exit codes" in done.stdout


def test_unknown_option_is_a_usage_error_without_traceback(run_cli) -> None:
    done = run_cli("--no-such-option")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
