"""``Advisory`` ↔ JSON-ready dicts: how advisories are stored in the database (and nowhere else).

The layout is ours, versioned with the database schema (``database.SCHEMA_VERSION``); empty
fields are left out to keep the file small.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity

__all__ = ["advisory_from_dict", "advisory_to_dict", "affected_from_dict", "affected_to_dict"]


# Enum members are str/int subclasses: json writes StrEnum members as their value directly, and a dict
# lookup avoids Enum's slow `.name`/`.value` descriptors (this codec runs ~300k times per build).
_SEVERITY_NAME = {member: member.name for member in Severity}
# Reading: value -> member by dict, not Enum's call (a scan decodes ~11,000 events); an unknown value
# falls back to the call, which raises the same ValueError as before.
_RANGE_TYPES = {member.value: member for member in RangeType}
_EVENT_KINDS = {member.value: member for member in EventKind}
_FIX_STATES = {member.value: member for member in FixState}


_Member = TypeVar("_Member", RangeType, EventKind, FixState)


def _member(members: dict[str, _Member], kind: type[_Member], value: Any) -> _Member:
    try:
        return members[value]
    except (KeyError, TypeError):  # unknown or unhashable: the Enum call raises its usual ValueError
        return kind(value)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


# Decoded events are shared: a scan decodes ~4,300 events of which ~400 differ ("introduced 0" above
# all). Event is frozen, so sharing is safe; the cap bounds a long-lived process reading many databases.
_EVENT_CACHE: dict[tuple[Any, Any], Event] = {}
_EVENT_CACHE_SIZE = 65536


def _event(kind: Any, value: Any) -> Event:
    if type(kind) is not str or type(value) is not str:  # a damaged row: built as without the cache
        return Event(kind=_member(_EVENT_KINDS, EventKind, kind), value=value)
    event = _EVENT_CACHE.get((kind, value))
    if event is None:
        event = Event(kind=_member(_EVENT_KINDS, EventKind, kind), value=value)
        if len(_EVENT_CACHE) < _EVENT_CACHE_SIZE:
            _EVENT_CACHE[(kind, value)] = event
    return event


def affected_to_dict(affected: Affected) -> dict[str, Any]:
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
        out["f"] = affected.fix_state
    if affected.severity is not None:
        out["s"] = _SEVERITY_NAME[affected.severity]
    return out


def advisory_to_dict(advisory: Advisory, *, include_affected: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": advisory.id}
    optional: dict[str, Any] = {
        "aliases": list(advisory.aliases),
        "related": list(advisory.related),
        "summary": advisory.summary,
        "details": advisory.details,
        "published": _time(advisory.published),
        "modified": _time(advisory.modified),
        "withdrawn": _time(advisory.withdrawn),
        "severity": _SEVERITY_NAME[advisory.severity] if advisory.severity is not Severity.UNKNOWN else None,
        "severity_source": advisory.severity_source,
        "cvss_vectors": list(advisory.cvss_vectors),
        "cvss_score": advisory.cvss_score,
        "epss": advisory.epss,
        "kev": advisory.kev or None,
        "affected": [affected_to_dict(a) for a in advisory.affected] if include_affected else None,
        "references": list(advisory.references),
        "sources": list(advisory.sources),
    }
    out.update({key: value for key, value in optional.items() if value not in (None, "", [])})
    return out


def affected_from_dict(data: dict[str, Any]) -> Affected:
    return Affected(
        ecosystem=data["e"],
        name=data["n"],
        purl=data.get("p"),
        ranges=tuple(
            Range(
                type=_member(_RANGE_TYPES, RangeType, r["t"]),
                events=tuple(_event(kind, value) for kind, value in r["ev"]),
                repo=r.get("repo"),
            )
            for r in data.get("r", ())
        ),
        versions=tuple(data.get("v", ())),
        fix_state=_member(_FIX_STATES, FixState, data.get("f", FixState.UNKNOWN.value)),
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
        affected=tuple(affected_from_dict(a) for a in data.get("affected", ())),
        references=tuple(data.get("references", ())),
        sources=tuple(data.get("sources", ())),
    )
