"""``db update``: fetch OSV's per-ecosystem exports and fold the changes into the database.

Steps, in order:

1. open the existing database (if any) and read each record's ``modified`` and each export's ETag;
2. per ecosystem, download ``<url>/<ECO>/all.zip`` conditionally (304: nothing to do);
3. ingest the zip and keep only records that are new, or newer by ``modified`` (incremental);
4. if anything changed, write a new database (previous records + changes, merged again) atomically;
   otherwise only mark the database as checked, which resets its staleness clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from wharfinger.vulndb.database import VulnDatabase, mark_checked, write_database
from wharfinger.vulndb.fetch import OsvExportClient
from wharfinger.vulndb.ingest import IngestResult, ingest_files
from wharfinger.vulndb.inputs import iter_archive

__all__ = ["EcosystemUpdate", "UpdateReport", "update_database"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EcosystemUpdate:
    ecosystem: str
    downloaded: bool  # False: the server said 304 Not Modified
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateReport:
    ecosystems: tuple[EcosystemUpdate, ...]
    rewritten: bool  # a new database file was written


def update_database(
    path: Path,
    client: OsvExportClient,
    ecosystems: Sequence[str],
    *,
    now: datetime,
    progress: Callable[[str], None] | None = None,
) -> UpdateReport:
    previous = VulnDatabase(path) if path.exists() else None
    try:
        meta = previous.meta() if previous else {}
        known = previous.record_versions("") if previous else {}
        changed: list[IngestResult] = []
        reports: list[EcosystemUpdate] = []
        new_meta: dict[str, str] = {}
        for ecosystem in ecosystems:
            if progress:
                progress(f"downloading {client.url_for(ecosystem)}")
            download = client.download(
                ecosystem, etag=meta.get(f"etag:{ecosystem}"), last_modified=meta.get(f"last-modified:{ecosystem}")
            )
            if download.not_modified:
                reports.append(EcosystemUpdate(ecosystem=ecosystem, downloaded=False))
                continue
            if download.etag:
                new_meta[f"etag:{ecosystem}"] = download.etag
            if download.last_modified:
                new_meta[f"last-modified:{ecosystem}"] = download.last_modified
            result = ingest_files(iter_archive(f"{ecosystem}/all.zip", download.data))
            fresh, new, updated = [], 0, 0
            for record in result.records:
                stored = known.get((record.sources[0], record.id), "missing")
                if stored == "missing":
                    new += 1
                elif record.modified is not None and (stored is None or record.modified.isoformat() > stored):
                    updated += 1
                else:
                    continue
                fresh.append(record)
            changed.append(replace(result, records=tuple(fresh)))
            reports.append(
                EcosystemUpdate(
                    ecosystem=ecosystem,
                    downloaded=True,
                    new=new,
                    updated=updated,
                    unchanged=len(result.records) - new - updated,
                    skipped=len(result.skipped),
                )
            )
        any_change = any(r.records or r.skipped for r in changed) or previous is None
        if any_change:
            combined = IngestResult(
                records=tuple(r for result in changed for r in result.records),
                skipped=tuple(s for result in changed for s in result.skipped),
                unknown_ecosystems=tuple(u for result in changed for u in result.unknown_ecosystems),
            )
            if progress:
                progress(f"writing {path}")
            write_database(path, combined, now=now, previous=previous, meta={**meta, **new_meta})
        elif previous is not None:
            previous.close()
            previous = None
            mark_checked(path, now=now, meta=new_meta)
        return UpdateReport(ecosystems=tuple(reports), rewritten=any_change)
    finally:
        if previous is not None:
            previous.close()
