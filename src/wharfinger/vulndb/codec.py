"""``Advisory`` ↔ JSON-ready dicts: how advisories are stored in the database (and nowhere else).

The layout is ours, versioned with the database schema (``database.SCHEMA_VERSION``); empty
fields are left out to keep the file small.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity

__all__ = ["advisory_from_dict", "advisory_to_dict"]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _affected_to_dict(affected: Affected) -> dict[str, Any]:
    out: dict[str, Any] = {"e": affected.ecosystem, "n": affected.name}
    if affected.purl:
        out["p"] = affected.purl
    if affected.ranges:
        out["r"] = [
            {
                "t": r.type.value,
                "ev": [[e.kind.value, e.value] for e in r.events],
                **({"repo": r.repo} if r.repo else {}),
            }
            for r in affected.ranges
        ]
    if affected.versions:
        out["v"] = list(affected.versions)
    if affected.fix_state is not FixState.UNKNOWN:
        out["f"] = affected.fix_state.value
    if affected.severity is not None:
        out["s"] = affected.severity.name
    return out


def advisory_to_dict(advisory: Advisory) -> dict[str, Any]:
    out: dict[str, Any] = {"id": advisory.id}
    optional: dict[str, Any] = {
        "aliases": list(advisory.aliases),
        "related": list(advisory.related),
        "summary": advisory.summary,
        "details": advisory.details,
        "published": _time(advisory.published),
        "modified": _time(advisory.modified),
        "withdrawn": _time(advisory.withdrawn),
        "severity": advisory.severity.name if advisory.severity is not Severity.UNKNOWN else None,
        "severity_source": advisory.severity_source,
        "cvss_vectors": list(advisory.cvss_vectors),
        "cvss_score": advisory.cvss_score,
        "epss": advisory.epss,
        "kev": advisory.kev or None,
        "affected": [_affected_to_dict(a) for a in advisory.affected],
        "references": list(advisory.references),
        "sources": list(advisory.sources),
    }
    out.update({key: value for key, value in optional.items() if value not in (None, "", [])})
    return out


def _affected_from_dict(data: dict[str, Any]) -> Affected:
    return Affected(
        ecosystem=data["e"],
        name=data["n"],
        purl=data.get("p"),
        ranges=tuple(
            Range(
                type=RangeType(r["t"]),
                events=tuple(Event(kind=EventKind(kind), value=value) for kind, value in r["ev"]),
                repo=r.get("repo"),
            )
            for r in data.get("r", ())
        ),
        versions=tuple(data.get("v", ())),
        fix_state=FixState(data.get("f", FixState.UNKNOWN.value)),
        severity=Severity[data["s"]] if "s" in data else None,
    )


def advisory_from_dict(data: dict[str, Any]) -> Advisory:
    """Inverse of ``advisory_to_dict``; raises ``KeyError``/``ValueError`` on a damaged row (the caller wraps it)."""
    return Advisory(
        id=data["id"],
        aliases=tuple(data.get("aliases", ())),
        related=tuple(data.get("related", ())),
        summary=data.get("summary", ""),
        details=data.get("details", ""),
        published=_parse_time(data.get("published")),
        modified=_parse_time(data.get("modified")),
        withdrawn=_parse_time(data.get("withdrawn")),
        severity=Severity[data["severity"]] if "severity" in data else Severity.UNKNOWN,
        severity_source=data.get("severity_source", ""),
        cvss_vectors=tuple(data.get("cvss_vectors", ())),
        cvss_score=data.get("cvss_score"),
        epss=data.get("epss"),
        kev=bool(data.get("kev", False)),
        affected=tuple(_affected_from_dict(a) for a in data.get("affected", ())),
        references=tuple(data.get("references", ())),
        sources=tuple(data.get("sources", ())),
    )
