"""Per-source records → one ``Advisory`` per vulnerability, with every source merged in.

Records are joined when they share an id (their own or an alias): union-find over alias
sets. One guard keeps bad alias data from snowballing: two components that each hold a
*different* CVE are never joined (the link is kept as ``related`` instead), so one advisory
that lists several CVEs cannot fuse distinct vulnerabilities.

The merged advisory's id is its CVE when it has one, else its GHSA, else the smallest id.
Withdrawn records contribute ids but no affected packages; an advisory all of whose records
are withdrawn is withdrawn. Severity is computed once here, by ``vulndb.severity``; KEV and
EPSS are attached by CVE.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace

from wharfinger.vulndb.feeds.epss import EpssScore
from wharfinger.vulndb.feeds.kev import KevEntry
from wharfinger.vulndb.model import Advisory, Affected, Severity
from wharfinger.vulndb.severity import compute_severity

__all__ = ["merge_advisories"]

# Whose prose (summary, details) wins when several sources describe one vulnerability.
_TEXT_PRIORITY = ("ghsa", "osv:", "rustsec", "rubysec", "friendsofphp", "golang")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.cve: dict[str, str | None] = {}

    def find(self, node: str) -> str:
        if node not in self.parent:
            self.parent[node] = node
            self.cve[node] = node if node.startswith("CVE-") else None
            return node
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: str, b: str) -> bool:
        root_a, root_b = self.find(a), self.find(b)
        if root_a == root_b:
            return True
        cve_a, cve_b = self.cve[root_a], self.cve[root_b]
        if cve_a is not None and cve_b is not None and cve_a != cve_b:
            return False
        self.parent[root_b] = root_a
        self.cve[root_a] = cve_a or cve_b
        return True


def _text_rank(advisory: Advisory) -> int:
    source = advisory.sources[0] if advisory.sources else ""
    return next((i for i, prefix in enumerate(_TEXT_PRIORITY) if source.startswith(prefix)), len(_TEXT_PRIORITY))


def _primary(ids: Iterable[str]) -> str:
    ordered = sorted(set(ids))
    for prefix in ("CVE-", "GHSA-"):
        chosen = next((i for i in ordered if i.startswith(prefix)), None)
        if chosen is not None:
            return chosen
    return ordered[0]


def merge_advisories(
    records: Iterable[Advisory],
    *,
    kev: Mapping[str, KevEntry] | None = None,
    epss: Mapping[str, EpssScore] | None = None,
) -> list[Advisory]:
    ordered = sorted(records, key=lambda r: (r.sources[:1], r.id))
    forest = _UnionFind()
    refused: dict[str, set[str]] = defaultdict(set)  # id -> ids the CVE guard kept apart from it (both ways)
    for record in ordered:
        forest.find(record.id)
        for alias in record.aliases:
            if not forest.union(record.id, alias):
                refused[record.id].add(alias)
                refused[alias].add(record.id)
    groups: dict[str, list[Advisory]] = defaultdict(list)
    for record in ordered:
        groups[forest.find(record.id)].append(record)
    merged = [_merge_group(group, forest, refused, kev or {}, epss or {}) for group in groups.values()]
    merged.sort(key=lambda a: a.id)
    return merged


def _merge_group(
    group: list[Advisory],
    forest: _UnionFind,
    refused: Mapping[str, set[str]],
    kev: Mapping[str, KevEntry],
    epss: Mapping[str, EpssScore],
) -> Advisory:
    root = forest.find(group[0].id)
    ids = {i for record in group for i in (record.id, *record.aliases) if forest.find(i) == root}
    primary = _primary(ids)
    live = [r for r in group if r.withdrawn is None]
    contributing = live or group
    by_text = sorted(contributing, key=_text_rank)
    affected: dict[Affected, None] = {}
    for record in live:
        affected.update(dict.fromkeys(record.affected))
    vectors = tuple(dict.fromkeys(v for r in contributing for v in r.cvss_vectors))
    ghsa = next((r.severity for r in contributing if r.severity_source == "ghsa"), None)
    bare = [
        (r.cvss_score, r.severity_source.split(":", 1)[1])
        for r in contributing
        if r.severity_source.startswith("score:") and r.cvss_score is not None
    ]
    verdict = compute_severity(
        ghsa=ghsa,
        vectors=vectors,
        bare_scores=bare,
        distro=[a.severity for a in affected if a.severity is not None],
    )
    cves = sorted(i for i in ids if i.startswith("CVE-"))
    kev_hit = any(c in kev for c in cves)
    epss_scores = [epss[c].epss for c in cves if c in epss]
    related = {i for r in group for i in r.related} | {a for i in ids for a in refused.get(i, ())}
    published = [r.published for r in contributing if r.published is not None]
    modified = [r.modified for r in contributing if r.modified is not None]
    withdrawn = [r.withdrawn for r in group if r.withdrawn is not None]
    first = by_text[0]
    return replace(
        first,
        id=primary,
        aliases=tuple(sorted(ids - {primary})),
        related=tuple(sorted(related - ids)),
        summary=next((r.summary for r in by_text if r.summary), ""),
        details=next((r.details for r in by_text if r.details), ""),
        published=min(published) if published else None,
        modified=max(modified) if modified else None,
        withdrawn=max(withdrawn) if not live and withdrawn else None,
        severity=verdict.severity if verdict.severity is not Severity.UNKNOWN else Severity.UNKNOWN,
        severity_source=verdict.source,
        cvss_vectors=vectors,
        cvss_score=verdict.score,
        epss=max(epss_scores) if epss_scores else None,
        kev=kev_hit,
        affected=tuple(affected),
        references=tuple(dict.fromkeys(u for r in by_text for u in r.references)),
        sources=tuple(sorted({s for r in group for s in r.sources})),
    )
