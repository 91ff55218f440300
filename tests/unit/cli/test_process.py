"""The console script's process handling: quick exit without losing output, tuning only its own process."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from wharfinger.cli import process
from wharfinger.cli.app import main

ROOT = Path(__file__).resolve().parents[3]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return _python_env(code, {})


def _python_env(code: str, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WHARFINGER_HTTP2"}
    env = {**env, **extra, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=False, env=env, timeout=60
    )


def test_exit_now_flushes_buffered_output_and_runs_atexit_handlers(tmp_path: Path) -> None:
    marker = tmp_path / "finalized"
    result = _python(
        f"""
        import atexit, sys, tempfile, weakref
        from wharfinger.cli.process import exit_now
        atexit.register(lambda: print("atexit ran"))
        spool = tempfile.TemporaryDirectory()  # its finalizer removes it at exit: must still run
        open({str(marker)!r}, "w").write(spool.name)
        sys.stdout.write("x" * 100_000)  # more than a pipe buffer holds in one write, still buffered
        exit_now(3)
        """
    )
    assert result.returncode == 3
    assert result.stdout.startswith("x" * 100_000)
    assert "atexit ran" in result.stdout
    assert not Path(marker.read_text()).exists()


def test_exit_now_with_a_message_prints_it_and_exits_1() -> None:
    result = _python("from wharfinger.cli.process import exit_now\nexit_now('no such thing')")
    assert (result.returncode, result.stderr) == (1, "no such thing\n")


def test_console_script_exits_with_mains_codes(
    run_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    missing = f"oci:{tmp_path / 'missing'}"
    with pytest.raises(SystemExit) as in_process:
        main(["sbom", missing])
    result = run_cli("sbom", missing)
    assert in_process.value.code != 0
    assert result.returncode == in_process.value.code
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr


def test_tuning_leaves_a_process_it_does_not_own_alone() -> None:
    before = (gc.get_threshold(), gc.get_freeze_count())
    process.tune_for_batch()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before


def test_tuning_applies_in_the_console_scripts_process() -> None:
    result = _python(
        """
        import gc
        from wharfinger.cli import process
        process.own_process()
        process.tune_for_batch()
        print(gc.get_threshold()[0], gc.get_freeze_count() > 0)
        """
    )
    assert result.returncode == 0, result.stderr
    threshold, frozen = result.stdout.split()
    assert int(threshold) > gc.get_threshold()[0]
    assert frozen == "True"


@pytest.mark.parametrize(
    ("argv", "env", "loaded"), [([], {}, False), (["--http2"], {}, True), ([], {"WHARFINGER_HTTP2": "1"}, True)]
)
def test_h2_is_loaded_only_when_http2_may_be_spoken(argv: list[str], env: dict[str, str], loaded: bool) -> None:
    result = _python_env(
        f"""
        import sys
        from wharfinger.cli import process
        process.skip_unused_imports({argv!r})
        import httpx  # imports httpcore, which imports h2 when it can
        client = httpx.Client()  # HTTP/1.1 clients work either way
        client.close()
        print(sys.modules.get("h2") is not None)
        """,
        env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(loaded)]
