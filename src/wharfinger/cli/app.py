"""The ``wharfinger`` entry point: global options, command registration, exit-code mapping
(``cli.exitcodes.failure_exit_code``; ``cli.fastpath`` runs the usual ``sbom`` command lines
without typer, with the same mapping)."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from wharfinger import __version__
from wharfinger.cli.exitcodes import EXIT_CODES_HELP, ExitCode, failure_exit_code

__all__ = ["app", "main"]

# Each module has `register(app: typer.Typer) -> None` and registers the command named after it
# ("verify_blob" -> `verify-blob`; a test holds every module to that). Order is the order in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "wharfinger.cli.demo",
    "wharfinger.cli.inspect",
    "wharfinger.cli.pull",
    "wharfinger.cli.cache",
    "wharfinger.cli.sbom",
    "wharfinger.cli.scan",
    "wharfinger.cli.db",
    "wharfinger.cli.admission",
    "wharfinger.cli.policy",
    "wharfinger.cli.audit",
    "wharfinger.cli.sign",
    "wharfinger.cli.verify",
    "wharfinger.cli.attest",
    "wharfinger.cli.verify_blob",
    "wharfinger.cli.verify_attestation",
    "wharfinger.cli.keys",
)

app = typer.Typer(
    name="wharfinger",
    help=(
        "Decide which container images may land on a Kubernetes cluster: inventory, vulnerabilities, "
        "signatures and admission policy.\n\n" + EXIT_CODES_HELP
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: "os/arch[/variant]" must not be read as rich markup
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class _State:
    debug: bool = False


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"wharfinger {__version__}")
        raise typer.Exit


@app.callback()
def _global_options(
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, help="More log output (-vv: debug).")] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Only errors and the requested output.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="Log format: text or json.")] = "text",
    version: Annotated[  # noqa: ARG001 -- handled by its eager callback
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    _State.debug = debug
    from wharfinger.cli.logs import configure_for_options

    configure_for_options(verbose=verbose, quiet=quiet, log_format=log_format)


def command_modules_for(argv: list[str]) -> tuple[str, ...]:
    """The command modules a command line needs: only the invoked command's when it is plain to see.

    typer builds a click command for every registered function at start-up; registering just the
    one being run keeps start-up flat as commands are added. Anything unclear (help, a global option
    taking a value before the command) registers them all, which is always correct.
    """
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    if first is None:
        return COMMAND_MODULES
    module = "wharfinger.cli." + first.replace("-", "_")
    return (module,) if module in COMMAND_MODULES else COMMAND_MODULES


class _Registered:
    modules: set[str] = set()  # noqa: RUF012 -- the one app's, for the life of the process


def _register_commands(modules: tuple[str, ...] = COMMAND_MODULES) -> None:
    # once each: `main` called again in one process (the tests) must not register a command twice,
    # which typer would keep, and build, as often as it was registered
    for name in modules:
        if name not in _Registered.modules:
            importlib.import_module(name).register(app)
            _Registered.modules.add(name)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with the documented exit code."""
    from wharfinger.cli.process import skip_httpx_cli

    skip_httpx_cli()
    _register_commands(command_modules_for(sys.argv[1:] if argv is None else argv))
    try:
        status = app(args=argv, standalone_mode=False)
        if isinstance(status, int) and status:  # a command's typer.Exit(code) (e.g. a tripped gate)
            sys.exit(status)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(ExitCode.BACKEND)
    except typer.TyperException as exc:  # typer's (vendored click's) usage errors: bad flags or arguments
        exc.show()  # type: ignore[attr-defined]  # every TyperException raised here is a click usage error
        sys.exit(ExitCode.USAGE)
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 -- the CLI boundary (cli.exitcodes)
        sys.exit(failure_exit_code(exc, debug=_State.debug))
    sys.exit(ExitCode.OK)
