"""Exit codes: one table, used by every command and printed by ``wharfinger --help``."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["EXIT_CODES_HELP", "ExitCode"]


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
