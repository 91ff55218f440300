"""``cli.fastpath``: plain ``sbom`` command lines without typer, with typer's own results.

The oracle is typer itself: the same command line run through ``cli.app.main`` records what the
typer command passes to ``run_sbom`` and to the logging set-up, and the fast parse must give
exactly that, or give up (None) and leave the command line to typer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st

from wharfinger.cli import app as app_module
from wharfinger.cli import logs, sbom_run
from wharfinger.cli.fastpath import GLOBAL_OPTIONS, SBOM_OPTIONS, parse, run_fast

ROOT = Path(__file__).resolve().parents[3]


def _kind(param: Any) -> str:  # a click parameter (typer vendors click)
    if getattr(param, "count", False):
        return "count"
    if getattr(param, "is_flag", False):
        return "flag"
    if param.multiple:
        return "multiple"
    return "path" if "Path" in type(param.type).__name__ else "value"


def _table(params: Sequence[Any]) -> dict[str, tuple[str, str]]:
    return {
        opt: (str(param.name), _kind(param))
        for param in params
        if param.param_type_name == "option" and not param.is_eager  # --version: typer's alone
        for opt in param.opts
    }


def test_the_tables_are_the_typer_commands_options() -> None:
    """An option added to the typer command without the fast path's table would make command lines
    using it fall back (correct, slower); one in the table but not in typer would be a bug. Both
    tables must be exactly typer's."""
    app_module._register_commands(("wharfinger.cli.sbom",))
    group = typer.main.get_command(app_module.app)
    assert _table(group.params) == dict(GLOBAL_OPTIONS)
    sbom = group.commands["sbom"]  # type: ignore[attr-defined]
    assert _table(sbom.params) == dict(SBOM_OPTIONS)
    assert [p.name for p in sbom.params if p.param_type_name != "option"] == ["source"]


def _through_typer(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, object], dict[str, object]]:
    """What typer gives ``run_sbom`` and the logging set-up for ``argv`` (both recorded, not run)."""
    seen: dict[str, dict[str, object]] = {}

    def record_sbom(source: str, output: list[str] | None = None, **options: object) -> None:
        seen["sbom"] = {"source": source, "output": output, **options}

    def record_logging(**options: object) -> None:
        seen["logging"] = options

    monkeypatch.setattr(sbom_run, "run_sbom", record_sbom)
    monkeypatch.setattr(logs, "configure_for_options", record_logging)
    with pytest.raises(SystemExit) as exited:
        app_module.main(argv)
    assert exited.value.code == 0
    return {**seen["logging"], "debug": app_module._State.debug}, seen["sbom"]


_VALUE = st.text(alphabet="abcxyz0189:/._=@", min_size=1, max_size=12).filter(lambda v: not v.startswith("-"))


@st.composite
def _command_lines(draw: st.DrawFn) -> list[str]:
    """Plain ``sbom`` command lines: every option in every shape the fast path accepts, in any order."""

    def options(table: dict[str, tuple[str, str]]) -> list[list[str]]:
        chosen = []
        for name in draw(st.lists(st.sampled_from(sorted(table)), max_size=6)):
            kind = table[name][1]
            if kind in {"flag", "count"}:
                chosen.append([name])
                continue
            value = draw(_VALUE)
            shape = draw(st.sampled_from(["apart", "equals", "attached"] if len(name) == 2 else ["apart", "equals"]))
            chosen.append(
                [name, value] if shape == "apart" else [f"{name}={value}" if shape == "equals" else name + value]
            )
        return chosen

    global_part = [word for option in options(dict(GLOBAL_OPTIONS)) for word in option]
    if draw(st.booleans()):
        global_part.append("-" + "v" * draw(st.integers(2, 3)))
    sbom_part = options(dict(SBOM_OPTIONS))
    position = draw(st.integers(0, len(sbom_part)))
    sbom_part.insert(position, [draw(_VALUE)])  # the SOURCE, anywhere among the options
    return [*global_part, "sbom", *(word for option in sbom_part for word in option)]


@settings(max_examples=150, deadline=None)
@given(argv=_command_lines())
def test_a_plain_command_line_parses_as_typer_parses_it(argv: list[str]) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        expected = _through_typer(argv, monkeypatch)
    assert parse(argv) == expected


@pytest.mark.parametrize(
    "argv",
    [
        ["sbom"],  # no SOURCE
        ["sbom", "a", "b"],  # two
        ["sbom", ""],
        ["sbom", "--help"],
        ["sbom", "-h", "x"],
        ["--version"],
        ["--version", "sbom", "x"],
        ["sbom", "x", "--output"],  # no value
        ["sbom", "x", "-o", "-"],  # a value that looks like an option
        ["sbom", "x", "--platform="],  # an empty value
        ["sbom", "x", "--no-cache=yes"],
        ["sbom", "x", "--", "y"],
        ["sbom", "x", "--frobnicate"],  # an option the fast path does not know (or a new one)
        ["sbom", "x", "-qv"],  # short flags together
        ["sbom", "x", "-v"],  # a global option after the command
        ["-o", "json", "sbom", "x"],  # a command option before the command
        ["scan", "x"],  # another command
        [],
    ],
)
def test_anything_else_is_left_to_typer(argv: list[str]) -> None:
    assert parse(argv) is None
    assert run_fast(argv) is None  # and nothing is run


def test_a_failure_is_reported_as_typer_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sbom", f"docker-archive:{tmp_path / 'missing.tar'}", "-o", "json"]
    code = run_fast(argv)
    fast_err = capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        app_module.main(argv)
    assert (code, fast_err) == (exited.value.code, capsys.readouterr().err)
    assert code == 3
    assert "does not exist" in fast_err


def test_a_bug_is_reported_in_one_line_or_raised_with_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(source: str, output: list[str] | None = None, **options: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(sbom_run, "run_sbom", broken)
    assert run_fast(["sbom", "x"]) == 70
    assert "internal error: ZeroDivisionError: oops" in capsys.readouterr().err
    with pytest.raises(ZeroDivisionError):
        run_fast(["--debug", "sbom", "x"])


def test_the_console_script_runs_a_plain_sbom_without_importing_typer(tmp_path: Path) -> None:
    """Through ``cli.process.run`` (the console script) an ``sbom`` of a directory writes its SBOM,
    and typer is never imported; ``--help`` still goes through typer."""
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text("ID=debian\nVERSION_ID=12\n")
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write(f'typer imported: {\"typer\" in sys.modules}\\n'))\n"
        "from wharfinger.cli.process import run\n"
        "sys.argv[0] = 'wharfinger'\n"
        "run()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "WHARFINGER_CACHE_DIR": str(tmp_path / "cache")}
    for argv, typer_imported in (
        (["sbom", f"dir:{root}", "-o", "json"], False),
        (["sbom", "--help"], True),
    ):
        done = subprocess.run(
            [sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        assert f"typer imported: {typer_imported}" in done.stderr
        if not typer_imported:
            assert '"distro"' in done.stdout
            assert "debian" in done.stdout
