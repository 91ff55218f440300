"""The vulnerability database: one SQLite file with a versioned schema.

Layout (``SCHEMA_VERSION`` changes whenever it does):

- ``meta``: schema version, built-at, the wharfinger version that built it, HTTP validators of updates;
- ``sources``: per feed, record count, newest ``modified``, skipped count;
- ``skipped``, ``excluded``, ``unknown_ecosystems``, ``ignored_files``: what ingestion could not use;
- ``records``: every per-source record as ingested (so ``db update`` can replace some and merge again);
- ``advisories`` (merged, one per vulnerability), ``aliases`` (every id → its advisory) and
  ``affected`` (ecosystem key, name key → advisory), indexed for ``advisories_for``;
- ``kev``, ``epss``: the enrichment catalogues as ingested.

Opening checks, before trusting a byte: the SQLite header (magic, and a file at least as long
as the header says: truncation), the ``meta`` table, and the schema version. Every SQLite
failure becomes a ``DatabaseError`` with a hint (rebuild or update).
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Self

from wharfinger import __version__
from wharfinger.errors import DatabaseError
from wharfinger.vulndb.codec import advisory_from_dict, advisory_to_dict
from wharfinger.vulndb.ecosystems import ecosystem_key, name_key
from wharfinger.vulndb.feeds.epss import EpssScore
from wharfinger.vulndb.feeds.kev import KevEntry
from wharfinger.vulndb.ingest import IngestResult, Skipped
from wharfinger.vulndb.merge import merge_advisories
from wharfinger.vulndb.model import Advisory

__all__ = [
    "SCHEMA_VERSION",
    "AdvisoryIndex",
    "DatabaseInfo",
    "SourceInfo",
    "VulnDatabase",
    "mark_checked",
    "write_database",
]

SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SQLITE_HEADER_BYTES = 100
_REBUILD_HINT = (
    "rebuild it with `wharfinger db build --from DIR -o FILE` or fetch a fresh one with `wharfinger db update`"
)

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources (name TEXT PRIMARY KEY, records INTEGER NOT NULL, newest_modified TEXT,
                      skipped INTEGER NOT NULL DEFAULT 0);
CREATE TABLE skipped (source TEXT NOT NULL, path TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE excluded (reason TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE unknown_ecosystems (ecosystem TEXT PRIMARY KEY, entries INTEGER NOT NULL);
CREATE TABLE ignored_files (path TEXT NOT NULL);
CREATE TABLE records (source TEXT NOT NULL, key TEXT NOT NULL, modified TEXT, body BLOB NOT NULL,
                      PRIMARY KEY (source, key)) WITHOUT ROWID;
CREATE TABLE advisories (id TEXT PRIMARY KEY, modified TEXT, body BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE aliases (alias TEXT PRIMARY KEY, advisory_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, advisory_id TEXT NOT NULL);
CREATE INDEX affected_by_package ON affected (ecosystem, name);
CREATE TABLE kev (cve TEXT PRIMARY KEY, date_added TEXT, due_date TEXT, ransomware INTEGER NOT NULL);
CREATE TABLE epss (cve TEXT PRIMARY KEY, epss REAL NOT NULL, percentile REAL NOT NULL);
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceInfo:
    name: str
    records: int
    newest_modified: datetime | None
    skipped: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseInfo:
    path: Path
    schema_version: int
    built_at: datetime
    checked_at: datetime  # the last successful `db update`, even when nothing had changed
    built_by: str
    advisories: int
    sources: tuple[SourceInfo, ...]
    skipped: int
    skipped_examples: tuple[Skipped, ...]
    excluded: tuple[tuple[str, int], ...]
    unknown_ecosystems: tuple[tuple[str, int], ...]
    kev_entries: int
    epss_scores: int
    size_bytes: int

    def age(self, now: datetime) -> timedelta:
        return now - max(self.built_at, self.checked_at)

    def is_stale(self, now: datetime, max_age: timedelta) -> bool:
        return self.age(now) > max_age


def _pack(document: Mapping[str, Any]) -> bytes:
    return zlib.compress(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode(), 1)


def _unpack(blob: bytes) -> Any:
    return json.loads(zlib.decompress(blob))


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _record_keys(records: Sequence[Advisory]) -> Iterator[tuple[str, str, Advisory]]:
    """(source, key, record): OSV records are keyed by id (``db update`` replaces them); others by id#n."""
    seen: dict[tuple[str, str], int] = defaultdict(int)
    for record in records:
        source = record.sources[0] if record.sources else "unknown"
        if source.startswith(("osv", "ghsa", "malicious")):
            yield source, record.id, record
            continue
        n = seen[(source, record.id)]
        seen[(source, record.id)] += 1
        yield source, f"{record.id}#{n}", record


# --- writing ----------------------------------------------------------------------------------


def write_database(
    path: Path,
    result: IngestResult,
    *,
    now: datetime,
    previous: VulnDatabase | None = None,
    meta: Mapping[str, str] | None = None,
) -> None:
    """Write ``result`` (merged over ``previous``'s records, if given) to ``path``, atomically.

    With ``previous``, records from ``result`` replace the previous database's records with the
    same (source, id) when they are newer by ``modified``; all other previous records are kept.
    """
    records = list(_record_keys(result.records))
    merged_records: dict[tuple[str, str], Advisory] = {}
    if previous is not None:
        merged_records.update(previous.iter_records())
    for source, key, record in records:
        old = merged_records.get((source, key))
        if old is None or old.modified is None or record.modified is None or record.modified >= old.modified:
            merged_records[(source, key)] = record
    kev = {entry.cve: entry for entry in (previous.kev_entries() if previous else ())}
    kev.update({entry.cve: entry for entry in result.kev})
    epss = {score.cve: score for score in (previous.epss_scores() if previous else ())}
    epss.update({score.cve: score for score in result.epss})
    advisories = merge_advisories(merged_records.values(), kev=kev, epss=epss)

    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    try:
        connection = sqlite3.connect(temporary)
        try:
            _fill(connection, result, merged_records, advisories, kev, epss, now, previous, meta or {})
            connection.commit()
        finally:
            connection.close()
        temporary.replace(path)
    except sqlite3.Error as exc:
        temporary.unlink(missing_ok=True)
        raise DatabaseError(
            f"cannot write the database {path}: {exc}", hint="check free space and permissions"
        ) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _fill(  # noqa: PLR0917 -- one private step of write_database, called once
    connection: sqlite3.Connection,
    result: IngestResult,
    records: Mapping[tuple[str, str], Advisory],
    advisories: Sequence[Advisory],
    kev: Mapping[str, KevEntry],
    epss: Mapping[str, EpssScore],
    now: datetime,
    previous: VulnDatabase | None,
    meta: Mapping[str, str],
) -> None:
    connection.execute("PRAGMA journal_mode = OFF")
    connection.execute("PRAGMA synchronous = OFF")
    connection.executescript(_SCHEMA)
    base_meta = dict(previous.meta() if previous else {})
    base_meta.update(meta)
    base_meta.update(
        {
            "schema_version": str(SCHEMA_VERSION),
            "built_at": now.isoformat(),
            "checked_at": now.isoformat(),
            "built_by": __version__,
        }
    )
    connection.executemany("INSERT INTO meta VALUES (?, ?)", sorted(base_meta.items()))
    connection.executemany(
        "INSERT INTO records VALUES (?, ?, ?, ?)",
        ((s, k, _time(r.modified), _pack(advisory_to_dict(r))) for (s, k), r in records.items()),
    )
    skipped = list(dict.fromkeys([*(previous.skipped_records() if previous else ()), *result.skipped]))
    skipped_by_source: dict[str, int] = defaultdict(int)
    for item in skipped:
        skipped_by_source[item.source] += 1
    counts: dict[str, int] = defaultdict(int)
    newest: dict[str, datetime] = {}
    for (source, _), record in records.items():
        counts[source] += 1
        if record.modified is not None and (source not in newest or record.modified > newest[source]):
            newest[source] = record.modified
    if kev:
        counts["kev"] = len(kev)
    if epss:
        counts["epss"] = len(epss)
    names = sorted(set(counts) | set(skipped_by_source))
    connection.executemany(
        "INSERT INTO sources VALUES (?, ?, ?, ?)",
        ((n, counts.get(n, 0), _time(newest.get(n)), skipped_by_source.get(n, 0)) for n in names),
    )
    connection.executemany("INSERT INTO skipped VALUES (?, ?, ?)", ((s.source, s.path, s.reason) for s in skipped))
    excluded = dict(previous.excluded() if previous else ())
    for reason, count in result.excluded:
        excluded[reason] = excluded.get(reason, 0) + count if previous is None else count
    connection.executemany("INSERT INTO excluded VALUES (?, ?)", sorted(excluded.items()))
    unknown = dict(previous.unknown_ecosystems() if previous else ())
    unknown.update(result.unknown_ecosystems)
    connection.executemany("INSERT INTO unknown_ecosystems VALUES (?, ?)", sorted(unknown.items()))
    connection.executemany("INSERT INTO ignored_files VALUES (?)", ((p,) for p in result.ignored_files))
    connection.executemany(
        "INSERT INTO advisories VALUES (?, ?, ?)",
        ((a.id, _time(a.modified), _pack(advisory_to_dict(a))) for a in advisories),
    )
    connection.executemany(
        "INSERT OR IGNORE INTO aliases VALUES (?, ?)",
        ((alias, a.id) for a in advisories for alias in (a.id, *a.aliases)),
    )
    connection.executemany(
        "INSERT INTO affected VALUES (?, ?, ?)",
        sorted(
            {(ecosystem_key(x.ecosystem), name_key(x.ecosystem, x.name), a.id) for a in advisories for x in a.affected}
        ),
    )
    connection.executemany(
        "INSERT INTO kev VALUES (?, ?, ?, ?)",
        (
            (
                e.cve,
                e.date_added.isoformat() if e.date_added else None,
                e.due_date.isoformat() if e.due_date else None,
                int(e.ransomware),
            )
            for e in kev.values()
        ),
    )
    connection.executemany("INSERT INTO epss VALUES (?, ?, ?)", ((s.cve, s.epss, s.percentile) for s in epss.values()))


def mark_checked(path: Path, *, now: datetime, meta: Mapping[str, str]) -> None:
    """Record a successful update check that changed nothing (no rewrite): resets the staleness clock."""
    VulnDatabase(path).close()  # validates the file before writing to it
    try:
        connection = sqlite3.connect(path)
        try:
            connection.executemany(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted({**meta, "checked_at": now.isoformat()}.items())
            )
            connection.commit()
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"cannot update {path}: {exc}", hint=_REBUILD_HINT) from exc


# --- reading ----------------------------------------------------------------------------------


def _check_header(path: Path) -> None:
    """Magic and length from the 100-byte SQLite header: catches foreign and truncated files cheaply."""
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(100)
    except FileNotFoundError as exc:
        raise DatabaseError(f"no vulnerability database at {path}", hint=_REBUILD_HINT) from exc
    except OSError as exc:
        raise DatabaseError(f"cannot read the vulnerability database {path}: {exc}", hint="check permissions") from exc
    if len(header) < _SQLITE_HEADER_BYTES or not header.startswith(_SQLITE_MAGIC):
        raise DatabaseError(f"{path} is not a vulnerability database (not an SQLite file)", hint=_REBUILD_HINT)
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    if valid_for == change_counter and page_count and size < page_size * page_count:
        raise DatabaseError(
            f"the vulnerability database {path} is truncated ({size} of {page_size * page_count} bytes)",
            hint=_REBUILD_HINT,
        )


class AdvisoryIndex:
    """Every advisory in memory, by (ecosystem, name): for re-matching many SBOMs without SQL per package.

    Implements matching's ``AdvisorySource`` protocol like ``VulnDatabase`` does.
    """

    def __init__(self, by_package: Mapping[tuple[str, str], Sequence[Advisory]]) -> None:
        self._by_package = by_package

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        found = self._by_package.get((ecosystem_key(ecosystem), name_key(ecosystem, name)))
        if found is not None or ":" in ecosystem:
            return found or ()
        prefix = ecosystem_key(ecosystem) + ":"
        key = name_key(ecosystem, name)
        hits: dict[str, Advisory] = {}
        for (eco, pkg), advisories in self._by_package.items():
            if pkg == key and eco.startswith(prefix):
                hits.update((a.id, a) for a in advisories)
        return tuple(hits.values())

    def __len__(self) -> int:
        return len({a.id for advisories in self._by_package.values() for a in advisories})


class VulnDatabase:
    """A read-only handle on a database file; ``advisories_for`` is matching's ``AdvisorySource``.

    Ecosystems are OSV names with release ("Debian:12", "Alpine:v3.19", "PyPI"); a distro
    ecosystem asked without release ("Debian") returns the advisories of every release.
    """

    def __init__(self, path: Path) -> None:
        _check_header(path)
        self.path = path
        try:
            self._connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            rows = dict(self._connection.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.Error as exc:
            with suppress(Exception):
                self._connection.close()
            raise DatabaseError(f"the vulnerability database {path} is corrupt: {exc}", hint=_REBUILD_HINT) from exc
        version = rows.get("schema_version")
        if version != str(SCHEMA_VERSION):
            self._connection.close()
            raise DatabaseError(
                f"the vulnerability database {path} has schema version {version or 'none'}; "
                f"this wharfinger reads version {SCHEMA_VERSION}",
                hint=_REBUILD_HINT,
            )
        self._meta = rows
        self._cache: dict[str, Advisory] = {}

    @classmethod
    def open(cls, path: Path) -> VulnDatabase:
        return cls(path)

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _query(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._connection
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"the vulnerability database {self.path} is corrupt: {exc}", hint=_REBUILD_HINT
            ) from exc
        except (zlib.error, json.JSONDecodeError, KeyError, ValueError, TypeError) as exc:
            raise DatabaseError(
                f"the vulnerability database {self.path} holds a damaged advisory: {exc}", hint=_REBUILD_HINT
            ) from exc

    def _decode(self, advisory_id: str, body: bytes) -> Advisory:
        cached = self._cache.get(advisory_id)
        if cached is None:
            cached = advisory_from_dict(_unpack(body))
            self._cache[advisory_id] = cached
        return cached

    def meta(self) -> dict[str, str]:
        return dict(self._meta)

    @property
    def built_at(self) -> datetime:
        return datetime.fromisoformat(self._meta["built_at"])

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        eco, pkg = ecosystem_key(ecosystem), name_key(ecosystem, name)
        with self._query() as db:
            if ":" in eco:
                ids_sql = "SELECT DISTINCT advisory_id FROM affected WHERE ecosystem = ? AND name = ?"
                params: tuple[str, ...] = (eco, pkg)
            else:
                ids_sql = (
                    "SELECT DISTINCT advisory_id FROM affected WHERE (ecosystem = ? OR ecosystem LIKE ?) AND name = ?"
                )
                params = (eco, eco.replace("%", "\\%") + ":%", pkg)
            rows = db.execute(
                f"SELECT a.id, a.body FROM advisories a WHERE a.id IN ({ids_sql}) ORDER BY a.id",  # noqa: S608 -- constant SQL
                params,
            ).fetchall()
            return tuple(self._decode(i, body) for i, body in rows)

    def advisory(self, vuln_id: str) -> Advisory | None:
        """The merged advisory an id (or any of its aliases) belongs to."""
        with self._query() as db:
            row = db.execute(
                "SELECT a.id, a.body FROM aliases x JOIN advisories a ON a.id = x.advisory_id WHERE x.alias = ?",
                (vuln_id,),
            ).fetchone()
            return self._decode(row[0], row[1]) if row else None

    def iter_advisories(self) -> Iterator[Advisory]:
        with self._query() as db:
            for _, body in db.execute("SELECT id, body FROM advisories ORDER BY id"):
                yield advisory_from_dict(_unpack(body))

    def load_index(self) -> AdvisoryIndex:
        """Everything in memory at once (a few seconds), for re-matching thousands of SBOMs."""
        by_id = {a.id: a for a in self.iter_advisories()}
        by_package: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
        with self._query() as db:
            for eco, name, advisory_id in db.execute("SELECT ecosystem, name, advisory_id FROM affected"):
                by_package[(eco, name)].append(by_id[advisory_id])
        return AdvisoryIndex({key: tuple(value) for key, value in by_package.items()})

    def iter_records(self) -> Iterator[tuple[tuple[str, str], Advisory]]:
        with self._query() as db:
            for source, key, body in db.execute("SELECT source, key, body FROM records"):
                yield (source, key), advisory_from_dict(_unpack(body))

    def record_versions(self, source_prefix: str) -> dict[tuple[str, str], str | None]:
        with self._query() as db:
            return {
                (s, k): m
                for s, k, m in db.execute(
                    "SELECT source, key, modified FROM records WHERE source LIKE ?", (source_prefix + "%",)
                )
            }

    def kev_entries(self) -> Iterable[KevEntry]:
        with self._query() as db:
            return [
                KevEntry(
                    cve=cve,
                    date_added=date.fromisoformat(added) if added else None,
                    due_date=date.fromisoformat(due) if due else None,
                    ransomware=bool(ransomware),
                )
                for cve, added, due, ransomware in db.execute("SELECT * FROM kev")
            ]

    def epss_scores(self) -> Iterable[EpssScore]:
        with self._query() as db:
            return [EpssScore(cve=c, epss=e, percentile=p) for c, e, p in db.execute("SELECT * FROM epss")]

    def skipped_records(self) -> Iterable[Skipped]:
        with self._query() as db:
            return [Skipped(source=s, path=p, reason=r) for s, p, r in db.execute("SELECT * FROM skipped")]

    def excluded(self) -> list[tuple[str, int]]:
        with self._query() as db:
            return list(db.execute("SELECT reason, count FROM excluded ORDER BY reason"))

    def unknown_ecosystems(self) -> list[tuple[str, int]]:
        with self._query() as db:
            return list(db.execute("SELECT ecosystem, entries FROM unknown_ecosystems ORDER BY ecosystem"))

    def info(self) -> DatabaseInfo:
        with self._query() as db:
            sources = tuple(
                SourceInfo(
                    name=n,
                    records=r,
                    newest_modified=datetime.fromisoformat(m) if m else None,
                    skipped=s,
                )
                for n, r, m, s in db.execute(
                    "SELECT name, records, newest_modified, skipped FROM sources ORDER BY name"
                )
            )
            (advisories,) = db.execute("SELECT count(*) FROM advisories").fetchone()
            (kev,) = db.execute("SELECT count(*) FROM kev").fetchone()
            (epss,) = db.execute("SELECT count(*) FROM epss").fetchone()
            examples = tuple(
                Skipped(source=s, path=p, reason=r)
                for s, p, r in db.execute("SELECT source, path, reason FROM skipped LIMIT 10")
            )
            (skipped,) = db.execute("SELECT count(*) FROM skipped").fetchone()
        return DatabaseInfo(
            path=self.path,
            schema_version=int(self._meta["schema_version"]),
            built_at=self.built_at,
            checked_at=datetime.fromisoformat(str(self._meta.get("checked_at") or self._meta["built_at"])),
            built_by=self._meta.get("built_by", "?"),
            advisories=advisories,
            sources=sources,
            skipped=skipped,
            skipped_examples=examples,
            excluded=tuple(self.excluded()),
            unknown_ecosystems=tuple(self.unknown_ecosystems()),
            kev_entries=kev,
            epss_scores=epss,
            size_bytes=self.path.stat().st_size,
        )
