"""What ``wharfinger scan`` does, without typer: inventory → match → policy → report → exit code.

``cli.scan`` is the typer command; ``cli.fastpath`` calls ``run_scan`` directly for the usual
command lines. Steps: open the vulnerability database (``--db`` or ``$WHARFINGER_DB`` or the default
path); inventory SOURCE as ``wharfinger sbom`` does (image, ``dir:``, ``sbom:`` or a bare SBOM
file); match every package; apply ``--ignore-unfixed``, ``--exceptions`` and ``--vex``; render each
``-o`` format; exit 1 with a one-line summary on stderr when ``--fail-on`` trips. Nothing here may
import typer or ``cli.options``.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from wharfinger.cli.exitcodes import say
from wharfinger.cli.registry_flags import registry_settings

if TYPE_CHECKING:
    from datetime import datetime

    from wharfinger.inventory.catalog import Inventory
    from wharfinger.oci.settings import Settings
    from wharfinger.sbom import SbomSubject
    from wharfinger.scan.result import ScanResult

__all__ = ["SCAN_FORMATS", "default_database_path", "run_scan"]

log = logging.getLogger("wharfinger.cli.scan")

SCAN_FORMATS = ("table", "json", "sarif", "cyclonedx-vex", "openvex", "html")  # = report.REPORT_FORMATS
_MAX_DB_AGE = timedelta(days=5)  # older databases still work but warn: advisories arrive daily
_MAX_POLICY_BYTES = 16 * 1024 * 1024  # bytes, for --exceptions and --vex files


def _max_db_age() -> timedelta:
    """``$WHARFINGER_DB_MAX_AGE`` (``5d``, ``12h``) as ``db info`` reads it, else ``_MAX_DB_AGE``."""
    if text := os.environ.get("WHARFINGER_DB_MAX_AGE"):
        from wharfinger.vulndb.settings import parse_age

        return parse_age(text)
    return _MAX_DB_AGE


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


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Matching and rendering allocate ~100k short-lived, acyclic objects (advisories, findings,
    report dicts): reference counting frees them, and the cyclic collector's passes over them were
    ~10 % of a 1,000-package scan while finding nothing. Only these steps run without it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


def _inventory(
    source: str,
    platform: str | None,
    *,
    use_cache: bool,
    offline: bool,
    settings: Settings,
    catalogers: str | None = None,
) -> tuple[Inventory, SbomSubject]:
    # one inventory path for `sbom` and `scan`; TODO: inventory-os to expose it outside cli/
    from wharfinger.cli.sbom_run import inventory_for as inventory_of
    from wharfinger.errors import InputError

    text = _source_text(source)
    if text.startswith("sbom:"):  # the common CI case: skip the image machinery's imports entirely
        from wharfinger.sbom import SbomSubject, parse_sbom
        from wharfinger.sbom.reader import MAX_SBOM_BYTES

        path = Path(text.removeprefix("sbom:"))
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_SBOM_BYTES + 1)
        except OSError as exc:
            raise InputError(f"cannot read the SBOM {path}: {exc.strerror}", hint="check the path") from exc
        return parse_sbom(data, name=str(path)), SbomSubject(name=text, kind="sbom")
    from wharfinger.oci.sources import SourceKind, parse_source

    if offline and parse_source(text).kind is SourceKind.REGISTRY:
        raise InputError(
            f"--offline: {source} is a registry reference",
            hint="scan a local copy: oci:DIR, oci-archive:FILE, docker-archive:FILE, dir:PATH or an SBOM file",
        )
    return inventory_of(text, platform, use_cache=use_cache, settings=settings, catalogers=catalogers)


def run_scan(
    source: str,
    output: list[str] | None = None,
    *,
    fail_on: str | None = None,
    ignore_unfixed: bool = False,
    exceptions: Path | None = None,
    vex: list[Path] | None = None,
    db: Path | None = None,
    offline: bool = False,
    platform: str | None = None,
    no_cache: bool = False,
    catalogers: str | None = None,
    quiet: bool = False,
    attest: bool = False,
    key: str | None = None,
    insecure: list[str] | None = None,
    ca_bundle: Path | None = None,
    http2: bool = False,
) -> int:
    """``wharfinger scan``: find known vulnerabilities in SOURCE and gate on them; the exit code (1: the gate
    tripped)."""
    from wharfinger.cli.output import parse_outputs, write_outputs
    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.matching import match_packages
    from wharfinger.report import ScanSubject, render_report
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
    settings = registry_settings(insecure, ca_bundle, http2=http2)  # the pull and --attest reach the registry alike
    with VulnDatabase.open(db_path) as database:
        built_at = database.built_at
        max_age = _max_db_age()
        if now - database.updated_at > max_age:  # a `db update` that found nothing new also counts
            log.warning(
                "the vulnerability database %s was last updated %d days ago; run `wharfinger db update`",
                db_path,
                (now - database.updated_at).days,
                extra={"event": "scan.db.stale"},
            )
        inventory, subject = _inventory(
            source, platform, use_cache=not no_cache, offline=offline, settings=settings, catalogers=catalogers
        )
        with _without_cyclic_gc():
            match = match_packages(inventory.packages, database, distro=inventory.distro)
    distro = inventory.distro
    scan_subject = ScanSubject(
        name=subject.name,
        kind=subject.kind,
        digest=subject.digest,
        distro=f"{distro.id} {distro.version_id or ''}".strip() if distro else None,
    )
    database_info = {"path": str(db_path), "built_at": built_at.isoformat()}
    with _without_cyclic_gc():
        result = apply_policy(
            match, policy, now=now, image=subject.name if subject.kind == "image" else None, image_digest=subject.digest
        )

        def render(fmt: str) -> str:
            return render_report(fmt, result, scan_subject, database=database_info)

        write_outputs(targets, render)
    if attest:
        _attach_scan(result, subject, key=key, settings=settings, started_at=now)
    if not result.gate.passed:
        say(result.gate.summary)
        return 1
    if not quiet and any(t.path is not None for t in targets):
        say(result.gate.summary)
    return 0


def _attach_scan(
    result: ScanResult, subject: SbomSubject, *, key: str | None, settings: Settings, started_at: datetime
) -> None:
    """Attach the active findings to the scanned image as a signed vulnerability attestation (admission reads it)."""
    from wharfinger import __version__
    from wharfinger.admission.attest import attest_image
    from wharfinger.clock import SystemClock
    from wharfinger.errors import InputError
    from wharfinger.oci.auth import default_credentials
    from wharfinger.oci.client import RegistryClient, RegistrySettings
    from wharfinger.oci.reference import parse_ref
    from wharfinger.oci.sources import SourceKind, parse_source
    from wharfinger.policy.scanfacts import VULN_PREDICATE_TYPE, ScannedVulnerability, build_predicate
    from wharfinger.signing.keys.algorithms import SignatureFormat
    from wharfinger.signing.keys.providers import open_signer_for

    if key is None:
        raise InputError("--attest needs --key URI", hint="e.g. --key file:cosign.key (the webhook trusts its .pub)")
    if subject.digest is None or parse_source(_source_text(subject.name)).kind is not SourceKind.REGISTRY:
        raise InputError(
            f"--attest needs a registry image, not {subject.name}", hint="scan the image by its registry reference"
        )
    findings = [
        ScannedVulnerability(
            id=f.advisory_id,
            severity=f.severity,
            has_fix=f.has_fix,
            is_kev=f.kev,
            package=f.package.purl or f.package.name,
            installed_version=f.installed_version,
        )
        for f in result.findings
    ]
    predicate = build_predicate(
        findings,
        started_at=started_at,
        finished_at=SystemClock().now(),
        scanner_version=__version__,
        database={},
    )
    ref = parse_ref(subject.name)
    signer = open_signer_for(key, os.environ, SignatureFormat.COSIGN)  # cosign's .att: its algorithms
    client = RegistryClient(
        ref.api_host,
        settings=RegistrySettings.from_settings(settings),
        credentials=default_credentials(os.environ, Path.home()),
    )
    with client:
        pushed = attest_image(
            client,
            ref.repository,
            subject.digest,
            predicate_type=VULN_PREDICATE_TYPE,
            predicate=predicate,
            signer=signer,
        )
    say(f"attested {len(findings)} finding(s) on {ref.registry}/{ref.repository}@{subject.digest}: {pushed}")
