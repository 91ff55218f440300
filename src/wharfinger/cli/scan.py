"""``wharfinger scan SOURCE``: the CI gate. Inventory → match → policy → report → exit code.

The typer command; what it does is ``cli.scan_run.run_scan``, which ``cli.fastpath`` also calls
(without typer) for the usual command lines. An option added here must be added to
``cli.fastpath.SCAN_OPTIONS`` too, or such command lines simply take this slower path (a test holds
the two equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from wharfinger.cli.options import CaBundle, Catalogers, Http2, ImagePlatform, InsecureHosts, NoCache
from wharfinger.cli.scan_run import SCAN_FORMATS, default_database_path

__all__ = ["SCAN_FORMATS", "default_database_path", "register"]

_SOURCE_HELP = (
    "What to scan: a registry reference, oci:DIR[:TAG|@DIGEST], oci-archive:FILE, docker-archive:FILE, "
    "dir:PATH, sbom:FILE, or a path to an SBOM file (CycloneDX/SPDX/Wharfinger JSON)."
)


def scan(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP, show_default=False)],
    output: Annotated[
        list[str] | None,
        typer.Option(
            "-o",
            "--output",
            help="FORMAT[=FILE], repeatable: table, json, sarif, cyclonedx-vex, openvex, html.",
            show_default=False,
        ),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a vulnerability at or above this severity remains: critical, high, medium, low.",
        ),
    ] = None,
    ignore_unfixed: Annotated[
        bool, typer.Option("--ignore-unfixed", help="Do not count vulnerabilities that have no fixed version yet.")
    ] = False,
    exceptions: Annotated[
        Path | None, typer.Option("--exceptions", help="YAML file of reviewed, expiring exceptions.")
    ] = None,
    vex: Annotated[list[Path] | None, typer.Option("--vex", help="OpenVEX document, repeatable.")] = None,
    db: Annotated[
        Path | None, typer.Option("--db", help="Vulnerability database file (default: $WHARFINGER_DB or ~/.cache).")
    ] = None,
    offline: Annotated[bool, typer.Option("--offline", help="Never touch the network (local sources only).")] = False,
    platform: ImagePlatform = None,
    no_cache: NoCache = False,
    catalogers: Catalogers = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No summary line unless the gate fails.")] = False,
    attest: Annotated[
        bool,
        typer.Option("--attest", help="Sign the findings as an in-toto vulnerability attestation and attach it."),
    ] = False,
    key: Annotated[str | None, typer.Option("--key", help="With --attest: key URI (file:PATH, pkcs11:, …).")] = None,
    insecure: InsecureHosts = None,
    ca_bundle: CaBundle = None,
    http2: Http2 = False,
) -> None:
    """Find known vulnerabilities in SOURCE and gate on them (exit 1 when --fail-on trips)."""
    from wharfinger.cli.scan_run import run_scan

    code = run_scan(
        source,
        output,
        fail_on=fail_on,
        ignore_unfixed=ignore_unfixed,
        exceptions=exceptions,
        vex=vex,
        db=db,
        offline=offline,
        platform=platform,
        no_cache=no_cache,
        catalogers=catalogers,
        quiet=quiet,
        attest=attest,
        key=key,
        insecure=insecure,
        ca_bundle=ca_bundle,
        http2=http2,
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
