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


def test_every_command_has_working_help(run_cli) -> None:
    from wharfinger.cli.app import COMMAND_MODULES

    top = run_cli("--help")
    assert top.returncode == 0, top.stderr
    names = set()
    for module in COMMAND_MODULES:
        import importlib

        import typer

        probe = typer.Typer()
        importlib.import_module(module).register(probe)
        names.update(c.name or c.callback.__name__ for c in probe.registered_commands)
        names.update(g.name or g.typer_instance.info.name for g in probe.registered_groups)
    assert names
    for name in sorted(names):
        done = run_cli(name, "--help")
        assert done.returncode == 0, f"{name} --help: {done.stderr}"
        assert "Usage" in done.stdout


def test_each_module_registers_the_command_named_after_it() -> None:
    # main() registers only the invoked command's module, found by this naming rule.
    import importlib

    import typer

    from wharfinger.cli.app import COMMAND_MODULES, command_modules_for

    for module in COMMAND_MODULES:
        probe = typer.Typer()
        importlib.import_module(module).register(probe)
        names = {c.name or c.callback.__name__ for c in probe.registered_commands}
        names |= {g.name or g.typer_instance.info.name for g in probe.registered_groups}
        expected = module.rsplit(".", 1)[1].replace("_", "-")
        assert expected in names, f"{module} registers {names}, not {expected!r}"
        assert command_modules_for([expected, "--help"]) == (module,)
    assert command_modules_for(["--log-format", "json", "scan", "x"]) == COMMAND_MODULES
    assert command_modules_for([]) == COMMAND_MODULES
    assert command_modules_for(["no-such-command"]) == COMMAND_MODULES


def test_unknown_command_is_still_a_usage_error(run_cli) -> None:
    done = run_cli("no-such-command")
    assert done.returncode == 2
