"""Feed files (path + bytes) → per-source ``Advisory`` records, KEV and EPSS entries, and what was skipped.

Pure: the caller reads directories and archives (``vulndb.inputs``) and hands each file in.
Each file is recognised by its name and content, parsed by its feed's parser, and either
contributes records or is *skipped and counted* with the reason (a malformed record is never
dropped silently). Files that belong to no feed (README, LICENSE, JSON schemas) are *ignored*
and listed. Ecosystems outside the OSV list are counted as unknown; their records are kept.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.ecosystems import is_known
from wharfinger.vulndb.feeds import alpine, debian, epss, friendsofphp, kev, oval, rubysec, rustsec, wolfi
from wharfinger.vulndb.feeds.osv import load_document, parse_osv
from wharfinger.vulndb.model import Advisory

__all__ = ["IngestResult", "Skipped", "ingest_files"]


_OSV_KEYS = frozenset({"id", "affected", "aliases", "modified", "published", "summary", "schema_version"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """One record or file that could not be used, and why."""

    source: str  # the feed it looked like: "osv:PyPI", "rubysec", … or "unrecognised"
    path: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestResult:
    records: tuple[Advisory, ...]  # one per source record; `sources[0]` names the feed
    kev: tuple[kev.KevEntry, ...] = ()
    epss: tuple[epss.EpssScore, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    excluded: tuple[tuple[str, int], ...] = ()  # (reason, count): records that are not vulnerabilities
    unknown_ecosystems: tuple[tuple[str, int], ...] = ()  # (ecosystem, affected entries)
    ignored_files: tuple[str, ...] = ()  # files that belong to no feed


@dataclass(slots=True)
class _Collector:
    records: list[Advisory] = field(default_factory=list)
    kev: list[kev.KevEntry] = field(default_factory=list)
    epss: list[epss.EpssScore] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    excluded: Counter[str] = field(default_factory=Counter)
    unknown: Counter[str] = field(default_factory=Counter)
    ignored: list[str] = field(default_factory=list)

    def add(self, advisories: Iterable[Advisory]) -> None:
        for advisory in advisories:
            for affected in advisory.affected:
                if not is_known(affected.ecosystem):
                    self.unknown[affected.ecosystem.split(":", 1)[0]] += 1
            self.records.append(advisory)

    def skip(self, source: str, path: str, problems: Iterable[str]) -> None:
        self.skipped.extend(Skipped(source=source, path=path, reason=p) for p in problems)


def ingest_files(files: Iterable[tuple[str, bytes]]) -> IngestResult:
    """Parse every feed file; never raises for a bad record (it is skipped and counted)."""
    collector = _Collector()
    for path, data in files:
        _ingest_one(collector, path, data)
    return IngestResult(
        records=tuple(collector.records),
        kev=tuple(collector.kev),
        epss=tuple(collector.epss),
        skipped=tuple(collector.skipped),
        excluded=tuple(sorted(collector.excluded.items())),
        unknown_ecosystems=tuple(sorted(collector.unknown.items())),
        ignored_files=tuple(collector.ignored),
    )


def _ingest_one(collector: _Collector, path: str, data: bytes) -> None:
    name = posixpath.basename(path).lower()
    parent = posixpath.basename(posixpath.dirname(path)).upper()
    source = "unrecognised"
    try:
        if name.endswith(".json"):
            source = _json_file(collector, path, name, data)
        elif name.endswith((".yaml", ".yml")):
            source = _yaml_file(collector, path, data)
        elif name.endswith(".md") and name.startswith("rustsec-"):
            source = "rustsec"
            _rustsec(collector, data)
        elif (name == "list" and parent in {"DSA", "DLA"}) or (name in {"dsa", "dla"} and data[:1] == b"["):
            source = f"debian-{(parent if name == 'list' else name).lower()}"
            advisories, problems = debian.parse_debian_list(data, source=source)
            collector.add(advisories)
            collector.skip(source, path, problems)
        elif name.endswith(".xml") and b"<oval_definitions" in data[:2048]:
            advisories, problems = oval.parse_oval(data, path=path)
            source = advisories[0].sources[0] if advisories else "oval"
            collector.add(advisories)
            collector.skip(source, path, problems)
        elif name.endswith(".csv") and kev.is_kev_csv_header(data[:200].decode("utf-8", "replace")):
            source = "kev"
            entries, problems = kev.parse_kev_csv(data)
            collector.kev.extend(entries)
            collector.skip(source, path, problems)
        elif name.endswith(".csv") and epss.is_epss_csv(data):
            source = "epss"
            scores, problems = epss.parse_epss_csv(data)
            collector.epss.extend(scores)
            collector.skip(source, path, problems)
        else:
            collector.ignored.append(path)
    except _Tagged as tagged:
        collector.skip(tagged.source, path, [tagged.error.message])
    except AdvisoryFormatError as exc:
        collector.skip(source, path, [exc.message])
    except RecursionError:
        collector.skip(source, path, ["nested too deeply"])


def _json_file(collector: _Collector, path: str, name: str, data: bytes) -> str:
    if b'"catalogVersion"' in data[:4096] and b'"vulnerabilities"' in data:
        entries, problems = kev.parse_kev_json(data)
        collector.kev.extend(entries)
        collector.skip("kev", path, problems)
        return "kev"
    if "schema" in name:
        collector.ignored.append(path)
        return "unrecognised"
    document = load_document(data, is_yaml=False)
    return _document(collector, path, document, default="osv")


def _yaml_file(collector: _Collector, path: str, data: bytes) -> str:
    document = load_document(data, is_yaml=True)
    return _document(collector, path, document, default="osv" if "/vulns/" in f"/{path}" else None)


def _classify(path: str, document: Any, default: str | None) -> str | None:
    if not isinstance(document, dict):
        return None
    if "id" in document and ("affected" in document or "modified" in document or "schema_version" in document):
        return "osv"
    if "gem" in document:
        return "rubysec"
    if "reference" in document and "branches" in document:
        return "friendsofphp"
    if "distroversion" in document and "packages" in document:
        return "alpine-secdb"
    if "advisories" in document and "package" in document:
        return "chainguard" if "chainguard" in path.lower() else "wolfi"
    if document and _looks_like_tracker(document):
        return "debian-tracker"
    if default == "osv" and not _OSV_KEYS.intersection(document):
        return None  # a JSON file of some other kind (a tool's config): not a feed
    return default


def _document(collector: _Collector, path: str, document: Any, *, default: str | None) -> str:
    """Recognise the feed and parse; raises ``AdvisoryFormatError`` tagged with the feed's name."""
    stem = posixpath.basename(path).rsplit(".", 1)[0]
    kind = _classify(path, document, default)
    try:
        if kind == "osv":
            advisory = parse_osv(document)
            collector.add([advisory])
            return advisory.sources[0]
        if kind == "rubysec":
            collector.add([rubysec.parse_rubysec(document, stem=stem)])
        elif kind == "friendsofphp":
            collector.add([friendsofphp.parse_friendsofphp(document, stem=stem)])
        elif kind == "alpine-secdb":
            collector.add(alpine.parse_alpine_secdb(document))
        elif kind in {"wolfi", "chainguard"}:
            collector.add(wolfi.parse_wolfi(document, ecosystem="Chainguard" if kind == "chainguard" else "Wolfi"))
        elif kind == "debian-tracker":
            collector.add(debian.parse_debian_tracker_json(document))
        else:
            collector.ignored.append(path)
            return "unrecognised"
    except AdvisoryFormatError as exc:
        raise _Tagged(kind or "unrecognised", exc) from exc
    return kind


class _Tagged(Exception):  # noqa: N818 -- an internal carrier, never escapes this module
    """Carries the feed name with a parse error to the per-file handler."""

    def __init__(self, source: str, error: AdvisoryFormatError) -> None:
        super().__init__(error.message)
        self.source = source
        self.error = error


def _looks_like_tracker(document: dict[str, Any]) -> bool:
    first = next(iter(document.values()))
    return isinstance(first, dict) and any(str(k).startswith(("CVE-", "TEMP-")) for k in list(first)[:5])


def _rustsec(collector: _Collector, data: bytes) -> None:
    advisory = rustsec.parse_rustsec(data)
    source = advisory.sources[0]
    if source.startswith("rustsec:") and source.split(":", 1)[1] in rustsec.NON_VULNERABILITY_KINDS:
        collector.excluded[f"rustsec informational ({source.split(':', 1)[1]}): not a vulnerability"] += 1
        return
    collector.add([replace(advisory, sources=("rustsec",))])
