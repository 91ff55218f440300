"""Options several commands share, defined once (as sigstore's CLI builds its option groups)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["CaBundle", "Catalogers", "InsecureHosts"]

# Explicit hosts only (issue #3): never "all registries insecure".
InsecureHosts = Annotated[
    list[str] | None,
    typer.Option("--insecure", help="HOST[:PORT] reached without TLS verification or over plain HTTP (repeatable)."),
]

CaBundle = Annotated[Path | None, typer.Option("--ca-bundle", help="PEM file of extra trusted CAs.")]

# A plain string, checked by cli.sbom: the Enum lives with the catalogers, which `--help` need not import.
Catalogers = Annotated[
    str | None,
    typer.Option(
        "--catalogers",
        help="installed, declared (lock files) or all. Default: installed for images, all for dir:.",
        show_default=False,
    ),
]
