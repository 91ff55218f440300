"""``wharfinger scan SOURCE``: the CI gate. Inventory → match → policy → report → exit code.

Steps: open the vulnerability database (``--db`` or ``$WHARFINGER_DB`` or the default path);
inventory SOURCE as ``wharfinger sbom`` does (image, ``dir:``, ``sbom:`` or a bare SBOM file);
match every package; apply ``--ignore-unfixed``, ``--exceptions`` and ``--vex``; render each
``-o`` format; exit 1 with a one-line summary on stderr when ``--fail-on`` trips.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from wharfinger.inventory.catalog import Inventory
    from wharfinger.sbom import SbomSubject

__all__ = ["SCAN_FORMATS", "default_database_path", "register"]

log = logging.getLogger(__name__)

SCAN_FORMATS = ("table", "json")
_MAX_DB_AGE = timedelta(days=5)  # older databases still work but warn: advisories arrive daily
_MAX_POLICY_BYTES = 16 * 1024 * 1024  # bytes, for --exceptions and --vex files

_SOURCE_HELP = (
    "What to scan: a registry reference, oci:DIR[:TAG|@DIGEST], oci-archive:FILE, docker-archive:FILE, "
    "dir:PATH, sbom:FILE, or a path to an SBOM file (CycloneDX/SPDX/Wharfinger JSON)."
)


def default_database_path() -> Path:
    """``$WHARFINGER_DB``, else ``$XDG_CACHE_HOME/wharfinger/vulndb.sqlite`` (``~/.cache`` by default)."""
    if env := os.environ.get("WHARFINGER_DB"):
        return Path(env)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "wharfinger" / "vulndb.sqlite"


def _read_file(path: Path, what: str) -> bytes:
    from wharfinger.errors import InputError

    try:
        with path.open("rb") as handle:
            return handle.read(_MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read the {what} {path}: {exc.strerror}", hint="check the path") from exc


def _source_text(source: str) -> str:
    """A bare existing file is an SBOM, a bare directory a root filesystem (as syft reads them)."""
    if ":" in source.split("/", 1)[0] or source.startswith(("oci", "docker", "dir:", "sbom:", "registry:")):
        return source
    path = Path(source)
    if path.is_file():
        return f"sbom:{source}"
    if path.is_dir():
        return f"oci:{source}" if (path / "oci-layout").is_file() else f"dir:{source}"
    return source


def _inventory(source: str, platform: str | None, *, use_cache: bool, offline: bool) -> tuple[Inventory, SbomSubject]:
    # one inventory path for `sbom` and `scan`; TODO: inventory-os to expose it outside cli/
    from wharfinger.cli.sbom import _inventory as inventory_of
    from wharfinger.errors import InputError
    from wharfinger.oci.sources import SourceKind, parse_source

    text = _source_text(source)
    if offline and parse_source(text).kind is SourceKind.REGISTRY:
        raise InputError(
            f"--offline: {source} is a registry reference",
            hint="scan a local copy: oci:DIR, oci-archive:FILE, docker-archive:FILE, dir:PATH or an SBOM file",
        )
    return inventory_of(text, platform, use_cache=use_cache)


def scan(
    source: Annotated[str, typer.Argument(help=_SOURCE_HELP, show_default=False)],
    output: Annotated[
        list[str] | None,
        typer.Option("-o", "--output", help="FORMAT[=FILE], repeatable: table, json.", show_default=False),
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
    platform: Annotated[
        str | None, typer.Option("--platform", help="os/arch[/variant] to pick from a multi-platform image.")
    ] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Ignore and do not fill the inventory cache.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No summary line unless the gate fails.")] = False,
) -> None:
    """Find known vulnerabilities in SOURCE and gate on them (exit 1 when --fail-on trips)."""
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.matching import match_packages
    from wharfinger.report.scan_json import ScanSubject, render_scan_json
    from wharfinger.report.scan_table import render_scan_table
    from wharfinger.scan import FailOn, ScanPolicy, apply_policy, parse_exceptions, parse_openvex
    from wharfinger.vulndb.database import VulnDatabase

    targets = parse_outputs(output, allowed=SCAN_FORMATS, default="table")
    try:
        gate = FailOn(fail_on.lower()) if fail_on else None
    except ValueError:
        raise InputError(
            f"--fail-on {fail_on!r} is not a severity", hint="use one of: critical, high, medium, low"
        ) from None
    policy = ScanPolicy(
        fail_on=gate,
        ignore_unfixed=ignore_unfixed,
        exceptions=parse_exceptions(_read_file(exceptions, "exceptions file"), source=str(exceptions))
        if exceptions
        else (),
        vex=tuple(s for path in vex or [] for s in parse_openvex(_read_file(path, "VEX document"), source=str(path))),
    )
    db_path = db or default_database_path()
    if not db_path.is_file():
        raise InputError(
            f"no vulnerability database at {db_path}",
            hint="build one with `wharfinger db build --from DIR -o FILE` (or `db pull REF`) and pass --db FILE",
        )
    now = SystemClock().now()
    with VulnDatabase.open(db_path) as database:
        built_at = database.built_at
        if now - built_at > _MAX_DB_AGE:
            log.warning(
                "the vulnerability database %s was built %d days ago; run `wharfinger db update`",
                db_path,
                (now - built_at).days,
                extra={"event": "scan.db.stale"},
            )
        inventory, subject = _inventory(source, platform, use_cache=not no_cache, offline=offline)
        match = match_packages(inventory.packages, database, distro=inventory.distro)
    distro = inventory.distro
    result = apply_policy(
        match, policy, now=now, image=subject.name if subject.kind == "image" else None, image_digest=subject.digest
    )
    scan_subject = ScanSubject(
        name=subject.name,
        kind=subject.kind,
        digest=subject.digest,
        distro=f"{distro.id} {distro.version_id or ''}".strip() if distro else None,
    )
    database_info = {"path": str(db_path), "built_at": built_at.isoformat()}

    def render(fmt: str) -> str:
        if fmt == "json":
            return render_scan_json(result, scan_subject, database=database_info)
        return render_scan_table(result)

    write_outputs(targets, render)
    if not result.gate.passed:
        typer.echo(result.gate.summary, err=True)
        raise typer.Exit(1)
    if not quiet and any(t.path is not None for t in targets):
        typer.echo(result.gate.summary, err=True)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
