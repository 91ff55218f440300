"""Exit codes: one table, used by every command and printed by ``wharfinger --help``; and how a
failure becomes one (``failure_exit_code``, shared by ``cli.app.main`` and ``cli.fastpath``).

This is one of the three places where ``except Exception`` is handled (STYLE 2.4): anything that is
not a ``WharfingerError`` is a bug, reported in one line (traceback with ``--debug``).
"""

from __future__ import annotations

import sys
from enum import IntEnum

from wharfinger.errors import WharfingerError

__all__ = ["EXIT_CODES_HELP", "ExitCode", "failure_exit_code", "say"]


class ExitCode(IntEnum):
    OK = 0  # done: the gate passed, the signature verified, or the policy allowed
    DENIED = 1  # the check ran and the answer is no: --fail-on tripped, verification failed, policy denied
    USAGE = 2  # bad flags or arguments
    INPUT = 3  # bad reference, policy, SBOM, trust policy, archive: the hint says what to fix
    BACKEND = 4  # registry, network, key provider or database failed: a retry may succeed
    BUG = 70  # anything else: please report it (traceback with --debug)


EXIT_CODES_HELP = (
    "Exit codes: 0 ok · 1 check ran and said no (gate tripped, verification failed, policy denied) · "
    "2 usage error · 3 bad input (reference, file, policy) · 4 backend failed (registry, network, key "
    "provider, database; retry may help) · 70 internal error (please report; --debug shows the traceback)."
)


def failure_exit_code(exc: BaseException, *, debug: bool) -> int:
    """Say on stderr, in one line, why a command failed, and give its exit code: a ``WharfingerError``
    its own (with its hint), an interrupt 130, anything else is a bug (70), which ``debug`` re-raises
    for its traceback."""
    if isinstance(exc, WharfingerError):
        say(f"error: {exc.diagnostics()}")
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        say("interrupted")
        return 130
    if debug:
        raise exc
    say(
        f"internal error: {type(exc).__name__}: {exc}\n"
        "  hint: this is a bug in wharfinger; rerun with --debug and report the traceback"
    )
    return ExitCode.BUG


def say(line: str) -> None:
    """One line on stderr, at once (a command's summary or failure; typer's ``echo(err=True)`` without typer)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
