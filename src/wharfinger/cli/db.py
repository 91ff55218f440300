"""``wharfinger db``: build, update, inspect and move the vulnerability database."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wharfinger.cli.options import CaBundle, Http2, InsecureHosts
from wharfinger.cli.progress import status_steps, transfer_bar
from wharfinger.errors import InputError

if TYPE_CHECKING:
    from wharfinger.signing.cosign.simplesigning import CosignKey
    from wharfinger.signing.keys.signer import Signer
    from wharfinger.vulndb.database import DatabaseInfo
    from wharfinger.vulndb.settings import VulnDbSettings

__all__ = ["register"]

log = logging.getLogger(__name__)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Database file (default: $WHARFINGER_DB or ~/.cache/wharfinger/vulndb.sqlite)."),
]
InsecureOption = InsecureHosts  # the one definition, shared by every registry command
OfflineOption = Annotated[
    bool, typer.Option("--offline", help="Never touch the network ($WHARFINGER_OFFLINE=1 sets it too).")
]


def _settings(db: Path | None, *, offline: bool = False) -> VulnDbSettings:
    from wharfinger.vulndb.settings import settings_from_env

    settings = settings_from_env(os.environ, Path.home(), path=db)
    if offline:
        from dataclasses import replace

        settings = replace(settings, offline=True)
    return settings


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(
        name="db",
        help="Build, update, inspect, push and pull the vulnerability database (one SQLite file).",
        no_args_is_help=True,
    )
    app.add_typer(db_app, name="db")

    @db_app.command("build")
    def build(
        sources: Annotated[
            list[Path],
            typer.Option("--from", help="A directory, .zip or .tar.gz of feed files (repeatable)."),
        ],
        output: Annotated[Path, typer.Option("-o", "--output", help="The database file to write.")],
    ) -> None:
        """Build a database from feed files: OSV (any ecosystem), distro feeds, KEV, EPSS."""
        import itertools

        from wharfinger.clock import SystemClock
        from wharfinger.vulndb.database import write_database
        from wharfinger.vulndb.ingest import ingest_files
        from wharfinger.vulndb.inputs import iter_feed_files

        for source in sources:
            if not source.exists():
                raise InputError(f"feed input {source} does not exist", hint="pass a directory, .zip or .tar.gz")
        started = time.perf_counter()
        with status_steps() as progress:
            progress(f"reading feeds from {', '.join(str(s) for s in sources)}")
            result = ingest_files(itertools.chain.from_iterable(iter_feed_files(s) for s in sources))
            progress(f"merging {len(result.records)} records and writing {output}")
            write_database(output, result, now=SystemClock().now())
        elapsed = time.perf_counter() - started
        from wharfinger.vulndb.database import VulnDatabase

        with VulnDatabase.open(output) as db:
            info = db.info()
        typer.echo(
            f"wrote {output}: {info.advisories} vulnerabilities from {len(result.records)} records "
            f"in {elapsed:.1f} s; {len(result.skipped)} malformed records skipped"
        )
        _print_problems(info)

    @db_app.command("info")
    def info(
        db: DbOption = None,
        output: Annotated[str, typer.Option("-o", "--output", help="Format: text or json.")] = "text",
        max_age: Annotated[str | None, typer.Option("--max-age", help="Warn when older than this (5d, 12h).")] = None,
    ) -> None:
        """Sources, record counts, age and skipped records of a database."""
        from dataclasses import replace

        from wharfinger.clock import SystemClock
        from wharfinger.vulndb.database import VulnDatabase
        from wharfinger.vulndb.settings import parse_age

        settings = _settings(db)
        if max_age:
            settings = replace(settings, max_age=parse_age(max_age))
        if output not in {"text", "json"}:
            raise InputError(f"unknown output format {output!r}", hint="choose text or json")
        with VulnDatabase.open(settings.path) as database:
            details = database.info()
        now = SystemClock().now()
        if details.is_stale(now, settings.max_age):
            log.warning(
                "the vulnerability database %s is %s old (limit %s); run `wharfinger db update`",
                settings.path,
                _age_text(details.age(now).total_seconds()),
                settings.max_age,
            )
        if not settings.verify_keys:
            _warn_unverified()
        if output == "json":
            typer.echo(json.dumps(_info_json(details, now.timestamp()), indent=2))
        else:
            _print_info(details, now.timestamp())

    @db_app.command("update")
    def update(
        db: DbOption = None,
        url: Annotated[
            str | None, typer.Option("--url", help="Base URL of the OSV exports ($WHARFINGER_OSV_URL).")
        ] = None,
        ecosystems: Annotated[
            list[str] | None, typer.Option("--ecosystem", help="OSV ecosystem to fetch (repeatable).")
        ] = None,
        offline: OfflineOption = False,
    ) -> None:
        """Fetch OSV's per-ecosystem exports (<url>/<ECO>/all.zip) and fold in what changed."""
        from wharfinger.clock import SystemClock
        from wharfinger.vulndb.fetch import OsvExportClient
        from wharfinger.vulndb.update import update_database

        settings = _settings(db, offline=offline)
        if settings.offline:
            raise InputError(
                "`db update` needs the network, and --offline forbids it",
                hint="drop --offline, or bring a database in with `wharfinger db pull` / `db build --from`",
            )
        with (
            OsvExportClient(
                url or settings.osv_url, timeout_s=settings.timeout_s, max_bytes=settings.max_download_bytes
            ) as client,
            status_steps() as progress,
        ):
            report = update_database(
                settings.path,
                client,
                ecosystems or settings.ecosystems,
                now=SystemClock().now(),
                progress=progress,
            )
        for item in report.ecosystems:
            if item.downloaded:
                typer.echo(
                    f"{item.ecosystem}: {item.new} new, {item.updated} updated, {item.unchanged} unchanged, "
                    f"{item.skipped} malformed skipped"
                )
            else:
                typer.echo(f"{item.ecosystem}: not modified")
        typer.echo(f"{'wrote' if report.rewritten else 'checked'} {settings.path}")

    @db_app.command("demo")
    def demo() -> None:
        """Build the bundled demo database (real advisories for the demo image) and print its path."""
        from wharfinger.clock import SystemClock
        from wharfinger.vulndb.demo import demo_cache_dir, demo_database

        typer.echo(str(demo_database(demo_cache_dir(os.environ, Path.home()), now=SystemClock().now())))

    @db_app.command("push")
    def push(
        reference: Annotated[str, typer.Argument(help="Registry reference to push to (registry/repo:tag).")],
        db: DbOption = None,
        insecure: InsecureOption = None,
        ca_bundle: CaBundle = None,
        http2: Http2 = False,
        key: Annotated[
            str | None,
            typer.Option("--key", help="Sign the pushed artifact (cosign key-based): file:PATH or a KMS/HSM key URI."),
        ] = None,
    ) -> None:
        """Push the database to a registry as an OCI artifact (for air-gapped sites), signed with --key."""
        from wharfinger.cli.registry_access import client_for
        from wharfinger.oci.reference import parse_ref
        from wharfinger.vulndb.publish import push_database

        settings = _settings(db)
        ref = parse_ref(reference)
        signer = _cosign_signer(key) if key else None  # a bad key fails before anything is pushed
        with client_for(ref, insecure=insecure or (), ca_bundle=ca_bundle, http2=http2) as client:
            digest = push_database(settings.path, ref, client)
            if signer is not None:
                from wharfinger.vulndb.signature import sign_database

                signature = sign_database(client, ref, digest, signer)
        typer.echo(f"pushed {settings.path} to {ref.name}@{digest}")
        if signer is not None:
            typer.echo(f"signed with {signer.key().key_id}: {ref.name}@{signature.digest}")

    @db_app.command("pull")
    def pull(
        reference: Annotated[str, typer.Argument(help="Registry reference of a database artifact.")],
        db: DbOption = None,
        offline: OfflineOption = False,
        insecure: InsecureOption = None,
        ca_bundle: CaBundle = None,
        http2: Http2 = False,
        key: Annotated[
            list[Path] | None,
            typer.Option(
                "--key", help="Trusted PEM public key: refuse a database it did not sign (repeatable; any one may)."
            ),
        ] = None,
    ) -> None:
        """Pull a database artifact and install it: signature (--key / $WHARFINGER_DB_VERIFY_KEY), digests, schema."""
        from wharfinger.cli.registry_access import client_for
        from wharfinger.oci.reference import parse_ref
        from wharfinger.vulndb.publish import pull_database

        settings = _settings(db, offline=offline)
        if settings.offline:
            raise InputError("`db pull` needs the registry, and --offline forbids it", hint="drop --offline")
        ref = parse_ref(reference)
        key_paths = tuple(key) if key else settings.verify_keys
        keys: tuple[CosignKey, ...] = ()
        if key_paths:
            from wharfinger.vulndb.signature import load_verification_keys

            keys = load_verification_keys(key_paths)
        else:
            _warn_unverified()
        with (
            client_for(ref, insecure=insecure or (), ca_bundle=ca_bundle, http2=http2) as client,
            transfer_bar(f"pulling {ref}") as progress,
        ):
            pulled = pull_database(ref, settings.path, client, keys=keys, progress=progress)
        signed = f" (signature verified: {', '.join(pulled.signed_by)})" if pulled.signed_by else " (unverified)"
        typer.echo(f"pulled {ref.name}@{pulled.digest} to {settings.path}{signed}")


def _warn_unverified() -> None:
    log.warning(
        "no database verification key is configured (--key / $WHARFINGER_DB_VERIFY_KEY): "
        "pulled vulnerability databases are not signature-verified"
    )


def _cosign_signer(uri: str) -> Signer:
    """The key at ``uri``, signing with cosign's algorithm for it (as ``wharfinger sign --format cosign``)."""
    from wharfinger.signing.keys.algorithms import SignatureFormat
    from wharfinger.signing.keys.providers import open_signer_for

    return open_signer_for(uri, os.environ, SignatureFormat.COSIGN)


def _age_text(seconds: float) -> str:
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} days"


def _print_problems(info: DatabaseInfo) -> None:
    for example in info.skipped_examples:
        typer.echo(f"  skipped [{example.source}] {example.path}: {example.reason}", err=True)
    if info.skipped > len(info.skipped_examples):
        typer.echo(f"  … and {info.skipped - len(info.skipped_examples)} more (`wharfinger db info`)", err=True)
    for ecosystem, count in info.unknown_ecosystems:
        typer.echo(f"  unknown ecosystem {ecosystem!r}: {count} affected entries kept", err=True)


def _info_json(info: DatabaseInfo, now_ts: float) -> dict[str, object]:
    return {
        "path": str(info.path),
        "schema_version": info.schema_version,
        "built_at": info.built_at.isoformat(),
        "checked_at": info.checked_at.isoformat(),
        "age_seconds": round(now_ts - max(info.built_at, info.checked_at).timestamp()),
        "built_by": info.built_by,
        "advisories": info.advisories,
        "size_bytes": info.size_bytes,
        "kev_entries": info.kev_entries,
        "epss_scores": info.epss_scores,
        "sources": [
            {
                "name": s.name,
                "records": s.records,
                "newest_modified": s.newest_modified.isoformat() if s.newest_modified else None,
                "skipped": s.skipped,
            }
            for s in info.sources
        ],
        "skipped": info.skipped,
        "ignored_files": info.ignored_files,
        "skipped_examples": [{"source": s.source, "path": s.path, "reason": s.reason} for s in info.skipped_examples],
        "excluded": [{"reason": r, "count": c} for r, c in info.excluded],
        "unknown_ecosystems": [{"ecosystem": e, "entries": c} for e, c in info.unknown_ecosystems],
    }


def _print_info(info: DatabaseInfo, now_ts: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=True)
    age = _age_text(now_ts - max(info.built_at, info.checked_at).timestamp())
    console.print(
        f"[bold]{info.path}[/bold]  schema v{info.schema_version}, built {info.built_at:%Y-%m-%d %H:%M} UTC "
        f"by wharfinger {info.built_by}, last checked {age} ago, {info.size_bytes / 1e6:.1f} MB",
        highlight=False,
    )
    console.print(
        f"{info.advisories} vulnerabilities · {info.kev_entries} KEV entries · {info.epss_scores} EPSS scores · "
        f"{info.skipped} malformed records skipped · {info.ignored_files} files that belong to no feed ignored",
        highlight=False,
    )
    table = Table("source", "records", "newest modified", "skipped")
    for source in info.sources:
        newest = f"{source.newest_modified:%Y-%m-%d}" if source.newest_modified else "-"
        table.add_row(source.name, str(source.records), newest, str(source.skipped))
    console.print(table)
    for reason, count in info.excluded:
        console.print(f"excluded: {count} x {reason}", highlight=False)
    _print_problems(info)
