"""Read the shared OSV records (JSON, or YAML as pypa publishes them) into our ``Affected`` model.

Test-side only: a minimal reading of ``affected[]`` so the matcher can be checked against the
records before vulndb's ingestion exists. It keeps OSV's fields as they are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, Range, RangeType


def load(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def to_affected(entry: dict[str, Any]) -> Affected:
    ranges = tuple(
        Range(
            type=RangeType(r["type"]),
            repo=r.get("repo"),
            events=tuple(Event(kind=EventKind(k), value=str(v)) for e in r.get("events", []) for k, v in e.items()),
        )
        for r in entry.get("ranges", [])
    )
    return Affected(
        ecosystem=entry["package"]["ecosystem"],
        name=entry["package"]["name"],
        purl=entry["package"].get("purl"),
        ranges=ranges,
        versions=tuple(str(v) for v in entry.get("versions", [])),
    )


def to_advisory(data: dict[str, Any]) -> Advisory:
    return Advisory(
        id=data["id"],
        aliases=tuple(data.get("aliases", [])),
        summary=data.get("summary", ""),
        affected=tuple(to_affected(a) for a in data.get("affected", [])),
    )


def records(root: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(root.rglob("*")):
        if path.suffix in (".json", ".yaml") and path.is_file():
            yield path, load(path)


def alpine_secdb(path: Path) -> list[Advisory]:
    """Alpine secdb YAML (``secfixes``: fixed version -> CVEs) as one advisory per CVE and package."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    ecosystem = f"Alpine:{data['distroversion']}"
    advisories = []
    for entry in data.get("packages") or []:
        package = entry["pkg"]
        for fixed, cves in (package.get("secfixes") or {}).items():
            for cve in cves or []:
                rng = Range(
                    type=RangeType.ECOSYSTEM,
                    events=(Event(kind=EventKind.INTRODUCED, value="0"), Event(kind=EventKind.FIXED, value=str(fixed))),
                )
                affected = Affected(ecosystem=ecosystem, name=package["name"], ranges=(rng,))
                advisories.append(Advisory(id=str(cve).split()[0], affected=(affected,)))
    return advisories


def debian_dsa(path: Path, releases: dict[str, str]) -> list[Advisory]:
    """Debian's DSA list: ``[release] - srcpkg fixed-version`` lines under each ``DSA-N-1`` header."""
    advisories = []
    current: str | None = None
    cves: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            current, cves = line.split()[3], []
        elif line.strip().startswith("{"):
            cves = line.strip().strip("{}").split()
        elif line.strip().startswith("[") and current:
            release, _, package, *rest = line.strip().split()
            release = release.strip("[]")
            if release not in releases or not rest or rest[0].startswith("<"):
                continue
            rng = Range(
                type=RangeType.ECOSYSTEM,
                events=(Event(kind=EventKind.INTRODUCED, value="0"), Event(kind=EventKind.FIXED, value=rest[0])),
            )
            affected = Affected(ecosystem=f"Debian:{releases[release]}", name=package, ranges=(rng,))
            advisories.append(Advisory(id=current, aliases=tuple(cves), affected=(affected,)))
    return advisories
