"""Limits every scheme applies before parsing, so hostile input fails fast and clearly."""

from __future__ import annotations

from wharfinger.errors import VersionError

__all__ = ["MAX_RANGE_CHARS", "MAX_VERSION_CHARS", "check_length"]

MAX_VERSION_CHARS = 1024  # characters; real versions stay under 100 (node-semver itself stops at 256)
MAX_RANGE_CHARS = 4096  # characters, for npm ranges and PEP 440 specifier sets


def check_length(text: str, scheme: str, *, limit: int = MAX_VERSION_CHARS) -> None:
    if len(text) > limit:
        raise VersionError(
            f"{scheme} version of {len(text)} characters is longer than the {limit} allowed",
            hint="this is not a real version; check the SBOM or advisory it came from",
        )
