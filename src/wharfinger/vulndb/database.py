"""The vulnerability database: one SQLite file with a versioned schema.

Layout (``SCHEMA_VERSION`` changes whenever it does):

- ``meta``: schema version, built-at, the wharfinger version that built it, HTTP validators of updates;
- ``sources``: per feed, record count, newest ``modified``, skipped count;
- ``skipped``, ``excluded``, ``unknown_ecosystems``, ``ignored_files``: what ingestion could not use;
- ``records``: every per-source record as ingested (so ``db update`` can replace some and merge again);
- ``advisories`` (merged, one per vulnerability, without its packages), ``aliases`` (every id → its
  advisory) and ``affected`` (ecosystem key, name key, advisory → that package's ``Affected``
  entries), indexed by package for ``advisories_for`` and by advisory for ``advisory``. Splitting the
  packages out matters: a Go or kernel CVE names hundreds of distro packages, and a lookup for one
  package must not decode all of them;
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
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from wharfinger import __version__
from wharfinger.errors import DatabaseError
from wharfinger.vulndb.codec import advisory_from_dict, advisory_to_dict, affected_from_dict, affected_to_dict
from wharfinger.vulndb.ecosystems import ecosystem_key, is_distro, name_key
from wharfinger.vulndb.model import Advisory, Affected

if TYPE_CHECKING:  # reading a database (every scan) must not load the feed parsers: imported where written
    from wharfinger.vulndb.feeds.epss import EpssScore
    from wharfinger.vulndb.feeds.kev import KevEntry
    from wharfinger.vulndb.ingest import IngestResult, Skipped

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
_BATCH_PAIRS = 400  # (ecosystem, name) pairs per advisories_for_many statement: 800 of SQLite's 32766 variables
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
CREATE TABLE affected (ecosystem TEXT NOT NULL, name TEXT NOT NULL, advisory_id TEXT NOT NULL, body BLOB NOT NULL);
CREATE INDEX affected_by_package ON affected (ecosystem, name);
CREATE INDEX affected_by_advisory ON affected (advisory_id);
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
    ignored_files: int  # files that belonged to no feed (licences, READMEs, schemas)
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


def _dump(document: Mapping[str, Any]) -> str:
    """Per-source records are stored as plain JSON: compressing 80k small documents cost a third of a build."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


_ADVISORY_FIELDS = tuple(f.name for f in fields(Advisory))


def _with_affected(head: Advisory, affected: tuple[Affected, ...]) -> Advisory:
    """``replace(head, affected=affected)`` without ``dataclasses.replace``'s per-field checks: a
    1,000-package scan builds ~2,400 of these and ``replace`` was a tenth of its matching time."""
    values: dict[str, Any] = {name: getattr(head, name) for name in _ADVISORY_FIELDS}
    values["affected"] = affected
    return Advisory(**values)


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
    from wharfinger.vulndb.merge import merge_advisories  # noqa: PLC0415 -- see the TYPE_CHECKING note

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
        ((s, k, _time(r.modified), _dump(advisory_to_dict(r))) for (s, k), r in records.items()),
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
        ((a.id, _time(a.modified), _pack(advisory_to_dict(a, include_affected=False))) for a in advisories),
    )
    connection.executemany(
        "INSERT OR IGNORE INTO aliases VALUES (?, ?)",
        ((alias, a.id) for a in advisories for alias in (a.id, *a.aliases)),
    )
    connection.executemany("INSERT INTO affected VALUES (?, ?, ?, ?)", _affected_rows(advisories))
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


def _affected_rows(advisories: Sequence[Advisory]) -> Iterator[tuple[str, str, str, str]]:
    """One row per (advisory, package key): that package's ``Affected`` entries as JSON."""
    for advisory in advisories:
        by_key: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for affected in advisory.affected:
            key = (ecosystem_key(affected.ecosystem), name_key(affected.ecosystem, affected.name))
            by_key[key].append(affected_to_dict(affected))
        for (eco, name), entries in by_key.items():
            yield eco, name, advisory.id, json.dumps(entries, separators=(",", ":"), ensure_ascii=False)


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
        self._releases: dict[tuple[str, str], list[str]] = defaultdict(list)  # (distro, name) -> "distro:release" keys
        for eco, name in by_package:
            if ":" in eco:
                self._releases[(eco.split(":", 1)[0], name)].append(eco)

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        eco, key = ecosystem_key(ecosystem), name_key(ecosystem, name)
        exact = self._by_package.get((eco, key), ())
        if ":" in eco or not is_distro(ecosystem):
            return exact
        hits: dict[str, Advisory] = {a.id: a for a in exact}
        for release in self._releases.get((eco, key), ()):
            for advisory in self._by_package[(release, key)]:
                seen = hits.get(advisory.id)
                hits[advisory.id] = (
                    advisory if seen is None else replace(seen, affected=seen.affected + advisory.affected)
                )
        return tuple(hits[i] for i in sorted(hits))

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

    def _head(self, advisory_id: str, body: bytes) -> Advisory:
        """The advisory without its packages (cached: heads are shared by every package lookup)."""
        cached = self._cache.get(advisory_id)
        if cached is None:
            cached = advisory_from_dict(_unpack(body))
            self._cache[advisory_id] = cached
        return cached

    @staticmethod
    def _entries(body: str | bytes) -> tuple[Affected, ...]:
        return tuple(affected_from_dict(entry) for entry in json.loads(body))

    def meta(self) -> dict[str, str]:
        return dict(self._meta)

    @property
    def built_at(self) -> datetime:
        return datetime.fromisoformat(self._meta["built_at"])

    @property
    def updated_at(self) -> datetime:
        """When the content was last known current: built, or checked by a `db update` that found nothing new."""
        return max(self.built_at, datetime.fromisoformat(str(self._meta.get("checked_at") or self._meta["built_at"])))

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        """Advisories naming this package; each carries only *this package's* ``affected`` entries.

        ``advisory(id)`` gives the whole advisory with every package.
        """
        eco, pkg = ecosystem_key(ecosystem), name_key(ecosystem, name)
        select = "SELECT x.advisory_id, a.body, x.body FROM affected x JOIN advisories a ON a.id = x.advisory_id "
        queries: list[tuple[str, tuple[str, ...]]] = [(select + "WHERE x.ecosystem = ? AND x.name = ?", (eco, pkg))]
        if ":" not in eco and is_distro(ecosystem):  # a distro asked without release: every release
            # A range over the index ("debian:" <= e < "debian;") rather than LIKE, which would scan.
            queries.append(
                (select + "WHERE x.ecosystem >= ? AND x.ecosystem < ? AND x.name = ?", (eco + ":", eco + ";", pkg))
            )
        with self._query() as db:
            grouped: dict[str, tuple[Advisory, list[Affected]]] = {}
            for sql, params in queries:
                for advisory_id, head, entries in db.execute(sql, params):
                    if advisory_id not in grouped:
                        grouped[advisory_id] = (self._head(advisory_id, head), [])
                    grouped[advisory_id][1].extend(self._entries(entries))
            grouped = dict(sorted(grouped.items()))
            return tuple(replace(head, affected=tuple(entries)) for head, entries in grouped.values())

    def advisories_for_many(self, packages: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Sequence[Advisory]]:
        """``advisories_for`` of many (ecosystem, name) pairs at once, keyed by the pairs as given.

        One SQL statement per ``_BATCH_PAIRS`` pairs instead of one per package: a 1,000-package
        scan spent a quarter of its matching time in per-package queries. A distro asked without
        release is answered by ``advisories_for`` (it needs the range query over every release).
        """
        wanted: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)  # key -> the pairs asking
        answers: dict[tuple[str, str], Sequence[Advisory]] = {}
        for ecosystem, name in dict.fromkeys(packages):
            eco = ecosystem_key(ecosystem)
            if ":" not in eco and is_distro(ecosystem):
                answers[(ecosystem, name)] = self.advisories_for(ecosystem, name)
            else:
                wanted[(eco, name_key(ecosystem, name))].append((ecosystem, name))
        keys = list(wanted)
        found: dict[tuple[str, str], dict[str, tuple[Advisory, list[Affected]]]] = defaultdict(dict)
        with self._query() as db:
            for start in range(0, len(keys), _BATCH_PAIRS):
                chunk = keys[start : start + _BATCH_PAIRS]
                placeholders = ", ".join(["(?, ?)"] * len(chunk))  # only "?"s: every value is a bound parameter
                sql = (
                    f"WITH wanted(e, n) AS (VALUES {placeholders}) "  # noqa: S608
                    "SELECT x.ecosystem, x.name, x.advisory_id, a.body, x.body FROM wanted w "
                    "JOIN affected x ON x.ecosystem = w.e AND x.name = w.n JOIN advisories a ON a.id = x.advisory_id"
                )
                for eco, pkg, advisory_id, head, entries in db.execute(sql, [v for key in chunk for v in key]):
                    by_advisory = found[(eco, pkg)]
                    if advisory_id not in by_advisory:
                        by_advisory[advisory_id] = (self._head(advisory_id, head), [])
                    by_advisory[advisory_id][1].extend(self._entries(entries))
        for key, askers in wanted.items():
            rows = found.get(key, {})
            advisories = tuple(_with_affected(rows[i][0], tuple(rows[i][1])) for i in sorted(rows))
            for pair in askers:
                answers[pair] = advisories
        return answers

    def advisory(self, vuln_id: str) -> Advisory | None:
        """The merged advisory an id (or any of its aliases) belongs to, with every package."""
        with self._query() as db:
            row = db.execute(
                "SELECT a.id, a.body FROM aliases x JOIN advisories a ON a.id = x.advisory_id WHERE x.alias = ?",
                (vuln_id,),
            ).fetchone()
            if row is None:
                return None
            entries = [
                entry
                for (body,) in db.execute("SELECT body FROM affected WHERE advisory_id = ? ORDER BY rowid", (row[0],))
                for entry in self._entries(body)
            ]
            return replace(self._head(row[0], row[1]), affected=tuple(entries))

    def iter_advisories(self) -> Iterator[Advisory]:
        """Every advisory with every package, in id order."""
        with self._query() as db:
            packages: dict[str, list[Affected]] = defaultdict(list)
            for advisory_id, body in db.execute("SELECT advisory_id, body FROM affected ORDER BY rowid"):
                packages[advisory_id].extend(self._entries(body))
            for advisory_id, body in db.execute("SELECT id, body FROM advisories ORDER BY id"):
                head = advisory_from_dict(_unpack(body))
                yield replace(head, affected=tuple(packages.get(advisory_id, ())))

    def load_index(self) -> AdvisoryIndex:
        """Everything in memory at once, for re-matching thousands of SBOMs without SQL per package.

        Like ``advisories_for``, each indexed advisory carries only the entries of its package key.
        """
        with self._query() as db:
            heads = {i: advisory_from_dict(_unpack(body)) for i, body in db.execute("SELECT id, body FROM advisories")}
            by_package: dict[tuple[str, str], list[Advisory]] = defaultdict(list)
            for eco, name, advisory_id, body in db.execute(
                "SELECT ecosystem, name, advisory_id, body FROM affected ORDER BY ecosystem, name, advisory_id"
            ):
                by_package[(eco, name)].append(replace(heads[advisory_id], affected=self._entries(body)))
        return AdvisoryIndex({key: tuple(value) for key, value in by_package.items()})

    def iter_records(self) -> Iterator[tuple[tuple[str, str], Advisory]]:
        with self._query() as db:
            for source, key, body in db.execute("SELECT source, key, body FROM records"):
                yield (source, key), advisory_from_dict(json.loads(body))

    def record_versions(self, source_prefix: str) -> dict[tuple[str, str], str | None]:
        with self._query() as db:
            return {
                (s, k): m
                for s, k, m in db.execute(
                    "SELECT source, key, modified FROM records WHERE source LIKE ?", (source_prefix + "%",)
                )
            }

    def kev_entries(self) -> Iterable[KevEntry]:
        from wharfinger.vulndb.feeds.kev import KevEntry  # noqa: PLC0415 -- see the TYPE_CHECKING note

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
        from wharfinger.vulndb.feeds.epss import EpssScore  # noqa: PLC0415 -- see the TYPE_CHECKING note

        with self._query() as db:
            return [EpssScore(cve=c, epss=e, percentile=p) for c, e, p in db.execute("SELECT * FROM epss")]

    def skipped_records(self) -> Iterable[Skipped]:
        from wharfinger.vulndb.ingest import Skipped  # noqa: PLC0415 -- see the TYPE_CHECKING note

        with self._query() as db:
            return [Skipped(source=s, path=p, reason=r) for s, p, r in db.execute("SELECT * FROM skipped")]

    def excluded(self) -> list[tuple[str, int]]:
        with self._query() as db:
            return list(db.execute("SELECT reason, count FROM excluded ORDER BY reason"))

    def unknown_ecosystems(self) -> list[tuple[str, int]]:
        with self._query() as db:
            return list(db.execute("SELECT ecosystem, entries FROM unknown_ecosystems ORDER BY ecosystem"))

    def info(self) -> DatabaseInfo:
        from wharfinger.vulndb.ingest import Skipped  # noqa: PLC0415 -- see the TYPE_CHECKING note

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
            (ignored,) = db.execute("SELECT count(*) FROM ignored_files").fetchone()
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
            ignored_files=ignored,
            kev_entries=kev,
            epss_scores=epss,
            size_bytes=self.path.stat().st_size,
        )
