"""``wharfinger sbom`` and ``scan`` without typer, for the command lines a pipeline runs every time.

Importing typer (with the click it vendors) and building the command from its signature is ~20 ms
of every start: on go-bin's docker-archive, 150 ms of which the inventory itself is ~40 ms
(docs/benchmarks.md, session 8). ``parse`` accepts a command line only in the plain shapes a
pipeline writes: global options, then ``sbom`` or ``scan``, one SOURCE and the command's own options, each as
``--name VALUE``, ``--name=VALUE``, ``-o VALUE``, ``-oVALUE`` or a flag (``-vv`` counts). Anything
else gives None — ``--help``, ``--version``, an option it does not know (a new one included), a
missing or empty value, a value that starts with ``-``, ``--``, a second argument — and typer then
parses, explains and refuses the command line as always. The fast path never has to reproduce
typer's errors, only its results: ``tests/unit/cli/test_fastpath.py`` holds these tables equal to
the typer command's options and the parse equal to click's own on generated command lines.

Both paths run the same ``cli.sbom_run.run_sbom`` / ``cli.scan_run.run_scan`` and map failures with
the same ``cli.exitcodes.failure_exit_code``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from wharfinger.cli.exitcodes import failure_exit_code

__all__ = ["COMMANDS", "GLOBAL_OPTIONS", "SBOM_OPTIONS", "SCAN_OPTIONS", "parse", "run_fast"]

Kind = Literal["flag", "count", "value", "path", "multiple", "paths"]

# option -> (parameter name, kind); cli.app's callback and cli.sbom's and cli.scan's commands declare them for typer
GLOBAL_OPTIONS: Mapping[str, tuple[str, Kind]] = {
    "-v": ("verbose", "count"),
    "--verbose": ("verbose", "count"),
    "-q": ("quiet", "flag"),
    "--quiet": ("quiet", "flag"),
    "--debug": ("debug", "flag"),
    "--log-format": ("log_format", "value"),
}
SBOM_OPTIONS: Mapping[str, tuple[str, Kind]] = {
    "-o": ("output", "multiple"),
    "--output": ("output", "multiple"),
    "--platform": ("platform", "value"),
    "--no-cache": ("no_cache", "flag"),
    "--attach": ("attach", "flag"),
    "--catalogers": ("catalogers", "value"),
    "--insecure": ("insecure", "multiple"),
    "--ca-bundle": ("ca_bundle", "path"),
    "--http2": ("http2", "flag"),
}
SCAN_OPTIONS: Mapping[str, tuple[str, Kind]] = {
    "-o": ("output", "multiple"),
    "--output": ("output", "multiple"),
    "--fail-on": ("fail_on", "value"),
    "--ignore-unfixed": ("ignore_unfixed", "flag"),
    "--exceptions": ("exceptions", "path"),
    "--vex": ("vex", "paths"),
    "--db": ("db", "path"),
    "--offline": ("offline", "flag"),
    "--platform": ("platform", "value"),
    "--no-cache": ("no_cache", "flag"),
    "--catalogers": ("catalogers", "value"),
    "-q": ("quiet", "flag"),  # scan's own: no summary line (the global -q comes before the command)
    "--quiet": ("quiet", "flag"),
    "--attest": ("attest", "flag"),
    "--key": ("key", "value"),
    "--insecure": ("insecure", "multiple"),
    "--ca-bundle": ("ca_bundle", "path"),
    "--http2": ("http2", "flag"),
}
_GLOBAL_DEFAULTS: Mapping[str, object] = {"verbose": 0, "quiet": False, "debug": False, "log_format": "text"}
_SBOM_DEFAULTS: Mapping[str, object] = {
    "output": None,
    "platform": None,
    "no_cache": False,
    "attach": False,
    "catalogers": None,
    "insecure": None,
    "ca_bundle": None,
    "http2": False,
}
_SCAN_DEFAULTS: Mapping[str, object] = {
    "output": None,
    "fail_on": None,
    "ignore_unfixed": False,
    "exceptions": None,
    "vex": None,
    "db": None,
    "offline": False,
    "platform": None,
    "no_cache": False,
    "catalogers": None,
    "quiet": False,
    "attest": False,
    "key": None,
    "insecure": None,
    "ca_bundle": None,
    "http2": False,
}
# the commands taken here: their options, and what their arguments are when not given
COMMANDS: Mapping[str, tuple[Mapping[str, tuple[str, Kind]], Mapping[str, object]]] = {
    "sbom": (SBOM_OPTIONS, _SBOM_DEFAULTS),
    "scan": (SCAN_OPTIONS, _SCAN_DEFAULTS),
}


def parse(argv: Sequence[str]) -> tuple[dict[str, object], str, dict[str, object]] | None:
    """(global options, the command, its runner's arguments) of a plain ``sbom`` or ``scan`` command
    line; None for any other."""
    global_options = dict(_GLOBAL_DEFAULTS)
    at = 0
    while at < len(argv) and argv[at].startswith("-"):
        used = _option(argv, at, GLOBAL_OPTIONS, global_options)
        if used is None:
            return None
        at += used
    if at >= len(argv) or argv[at] not in COMMANDS:
        return None
    command = argv[at]
    table, defaults = COMMANDS[command]
    options = dict(defaults)
    source: str | None = None
    at += 1
    while at < len(argv):
        if argv[at].startswith("-"):
            used = _option(argv, at, table, options)
            if used is None:
                return None
            at += used
        elif source is None and argv[at]:
            source = argv[at]
            at += 1
        else:  # a second argument, or an empty one: typer's to refuse
            return None
    if source is None:
        return None
    return global_options, command, {"source": source, **options}


def _option(argv: Sequence[str], at: int, table: Mapping[str, tuple[str, Kind]], into: dict[str, object]) -> int | None:
    """Take the option at ``argv[at]`` into ``into``: how many arguments it used, or None if it is
    not one of ``table``'s in a plain shape."""
    word = argv[at]
    value: str | None = None
    if word.startswith("--"):
        name, equals, attached = word.partition("=")
        value = attached if equals else None
    elif len(word) > 2 and word[1:] == "v" * (len(word) - 1) and table.get("-v") == ("verbose", "count"):  # noqa: PLR2004
        into["verbose"] = _count(into["verbose"]) + len(word) - 1  # -vv, -vvv
        return 1
    elif len(word) > 2:  # noqa: PLR2004 -- "-oVALUE"
        name, value = word[:2], word[2:]
    else:
        name = word
    spec = table.get(name)
    if spec is None:
        return None
    key, kind = spec
    if kind in {"flag", "count"}:
        if value is not None:  # "--debug=yes": typer's to refuse
            return None
        into[key] = _count(into[key]) + 1 if kind == "count" else True
        return 1
    used = 1
    if value is None:
        if at + 1 >= len(argv):
            return None
        value, used = argv[at + 1], 2
    if not value or value.startswith("-"):
        return None
    if kind == "multiple":
        into[key] = [*_listed(into[key]), value]
    elif kind in {"path", "paths"}:
        from pathlib import Path  # only when the option is given

        into[key] = Path(value) if kind == "path" else [*_listed(into[key]), Path(value)]
    else:
        into[key] = value
    return used


def _listed(values: object) -> list[object]:
    return list(values) if isinstance(values, list) else []


def _count(value: object) -> int:
    return value if isinstance(value, int) else 0


def run_fast(argv: Sequence[str]) -> int | None:
    """Run a plain ``sbom`` or ``scan`` command line and give its exit code; None (nothing done) for any other."""
    parsed = parse(argv)
    if parsed is None:
        return None
    global_options, command, options = parsed
    debug = bool(global_options["debug"])
    try:
        # imported after the parse: a command line left to typer imports none of them
        from wharfinger.cli.logs import configure_for_options
        from wharfinger.cli.process import skip_httpx_cli

        skip_httpx_cli()
        configure_for_options(
            verbose=_count(global_options["verbose"]),
            quiet=bool(global_options["quiet"]),
            log_format=str(global_options["log_format"]),
        )
        if command == "scan":
            from wharfinger.cli.scan_run import run_scan

            return run_scan(**options)  # type: ignore[arg-type]  # the values are the types SCAN_OPTIONS says
        from wharfinger.cli.sbom_run import run_sbom

        run_sbom(**options)  # type: ignore[arg-type]  # the values are the types SBOM_OPTIONS says
    except (KeyboardInterrupt, Exception) as exc:  # noqa: BLE001 -- the CLI boundary (cli.exitcodes)
        return failure_exit_code(exc, debug=debug)
    return 0
