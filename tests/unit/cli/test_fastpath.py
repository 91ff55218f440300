"""``cli.fastpath``: plain ``sbom`` and ``scan`` command lines without typer, with typer's own results.

The oracle is typer itself: the same command line run through ``cli.app.main`` records what the
typer command passes to ``run_sbom``/``run_scan`` and to the logging set-up, and the fast parse
must give exactly that, or give up (None) and leave the command line to typer.
"""

from __future__ import annotations

import json
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
from wharfinger.cli import logs, sbom_run, scan_run
from wharfinger.cli.fastpath import COMMANDS, GLOBAL_OPTIONS, parse, run_fast

ROOT = Path(__file__).resolve().parents[3]


def _kind(param: Any) -> str:  # a click parameter (typer vendors click)
    if getattr(param, "count", False):
        return "count"
    if getattr(param, "is_flag", False):
        return "flag"
    path = "Path" in type(param.type).__name__
    if param.multiple:
        return "paths" if path else "multiple"
    return "path" if path else "value"


def _table(params: Sequence[Any]) -> dict[str, tuple[str, str]]:
    return {
        opt: (str(param.name), _kind(param))
        for param in params
        if param.param_type_name == "option" and not param.is_eager  # --version: typer's alone
        for opt in param.opts
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_tables_are_the_typer_commands_options(name: str) -> None:
    """An option added to the typer command without the fast path's table would make command lines
    using it fall back (correct, slower); one in the table but not in typer would be a bug. The
    tables must be exactly typer's, and the defaults those of the command's parameters."""
    app_module._register_commands((f"wharfinger.cli.{name}",))
    group = typer.main.get_command(app_module.app)
    assert _table(group.params) == dict(GLOBAL_OPTIONS)
    command = group.commands[name]  # type: ignore[attr-defined]
    table, defaults = COMMANDS[name]
    assert _table(command.params) == dict(table)
    assert [p.name for p in command.params if p.param_type_name != "option"] == ["source"]
    assert {p.name: p.default for p in command.params if p.param_type_name == "option"} == dict(defaults)


def _through_typer(
    argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, object], str, dict[str, object]]:
    """What typer gives ``run_sbom``/``run_scan`` and the logging set-up for ``argv`` (recorded, not run)."""
    seen: dict[str, dict[str, object]] = {}

    def recorder(command: str) -> object:
        def record(source: str, output: list[str] | None = None, **options: object) -> int:
            seen[command] = {"source": source, "output": output, **options}
            return 0

        return record

    def record_logging(**options: object) -> None:
        seen["logging"] = options

    monkeypatch.setattr(sbom_run, "run_sbom", recorder("sbom"))
    monkeypatch.setattr(scan_run, "run_scan", recorder("scan"))
    monkeypatch.setattr(logs, "configure_for_options", record_logging)
    with pytest.raises(SystemExit) as exited:
        app_module.main(argv)
    assert exited.value.code == 0
    (command,) = set(seen) - {"logging"}
    return {**seen["logging"], "debug": app_module._State.debug}, command, seen[command]


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
    command = draw(st.sampled_from(sorted(COMMANDS)))
    command_part = options(dict(COMMANDS[command][0]))
    position = draw(st.integers(0, len(command_part)))
    command_part.insert(position, [draw(_VALUE)])  # the SOURCE, anywhere among the options
    return [*global_part, command, *(word for option in command_part for word in option)]


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
        ["pull", "x"],  # another command
        ["scan", "x", "--vex"],
        ["scan", "x", "-qq"],
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
    monkeypatch.setattr(scan_run, "run_scan", broken)
    assert run_fast(["sbom", "x"]) == 70
    assert run_fast(["scan", "x"]) == 70
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


def test_a_tripped_gate_exits_1_with_the_same_summary_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``scan --fail-on`` on the bundled demo image (which has critical findings): exit 1 and the
    one-line summary on stderr, the same through the fast path as through typer."""
    from datetime import UTC, datetime

    from wharfinger.cli.demo import demo_layout
    from wharfinger.vulndb.demo import demo_database

    monkeypatch.setenv("WHARFINGER_CACHE_DIR", str(tmp_path / "cache"))
    database = demo_database(tmp_path / "db", now=datetime.now(UTC))
    results = []
    for path in ("fast", "typer"):
        report = tmp_path / f"{path}.json"
        argv = [
            "scan",
            demo_layout(),
            "--db",
            str(database),
            "--offline",
            "--fail-on",
            "critical",
            "-o",
            f"json={report}",
        ]
        if path == "fast":
            code = run_fast(argv)
        else:
            with pytest.raises(SystemExit) as exited:
                app_module.main(argv)
            code = exited.value.code
        results.append((code, capsys.readouterr().err, sorted(json.loads(report.read_text()))))
    assert results[0] == results[1]
    assert results[0][0] == 1
    assert "critical" in results[0][1]
