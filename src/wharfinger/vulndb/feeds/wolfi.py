"""Wolfi / Chainguard advisories (``<package>.advisories.yaml``, schema 2.x): a timeline of events per CVE.

The latest event is the package's current state: ``fixed`` (with ``fixed-version``),
``false-positive-determination`` (not affected: no entry), ``fix-not-planned`` (won't fix),
and ``detection`` / ``true-positive-determination`` / ``pending-upstream-fix`` /
``analysis-not-planned`` (affected, no fix yet).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import as_list, as_mapping, as_str_list, optional_str, parse_time, required_str
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType

__all__ = ["parse_wolfi"]

_NOT_AFFECTED = frozenset({"false-positive-determination"})
_WONT_FIX = frozenset({"fix-not-planned"})
_NEVER = datetime.min.replace(tzinfo=UTC)


def parse_wolfi(document: Any, *, ecosystem: str = "Wolfi") -> list[Advisory]:
    record = as_mapping(document, "Wolfi advisories document")
    package = required_str(as_mapping(record.get("package"), "Wolfi package"), "name", "Wolfi package")
    advisories: list[Advisory] = []
    for item in as_list(record.get("advisories"), f"Wolfi {package} advisories"):
        entry = as_mapping(item, f"Wolfi {package} advisory")
        advisory_id = required_str(entry, "id", f"Wolfi {package} advisory")
        events = [as_mapping(e, f"Wolfi {advisory_id} event") for e in as_list(entry.get("events"), advisory_id)]
        if not events:
            raise AdvisoryFormatError(f"Wolfi {package} {advisory_id} has no events")
        times = [parse_time(e.get("timestamp"), f"Wolfi {advisory_id} timestamp") for e in events]
        # The newest event wins; on equal (or missing) timestamps, the one written last.
        latest_index = max(range(len(events)), key=lambda i: (times[i] or _NEVER, i))
        latest, latest_time = events[latest_index], times[latest_index]
        kind = required_str(latest, "type", f"Wolfi {advisory_id} event")
        if kind in _NOT_AFFECTED:
            continue
        range_events = [Event(kind=EventKind.INTRODUCED, value="0")]
        if kind == "fixed":
            data = as_mapping(latest.get("data"), f"Wolfi {advisory_id} fixed event")
            range_events.append(Event(kind=EventKind.FIXED, value=required_str(data, "fixed-version", advisory_id)))
            fix_state = FixState.FIXED
        else:
            fix_state = FixState.WONT_FIX if kind in _WONT_FIX else FixState.NOT_FIXED
        aliases = as_str_list(entry.get("aliases"), f"Wolfi {advisory_id} aliases")
        # The CVE is the vulnerability; the CGA id is Chainguard's record of it (an alias).
        primary = next((a for a in aliases if a.startswith("CVE-")), advisory_id)
        others = tuple(dict.fromkeys(a for a in (advisory_id, *aliases) if a != primary))
        advisories.append(
            Advisory(
                id=primary,
                aliases=others,
                modified=latest_time,
                affected=(
                    Affected(
                        ecosystem=ecosystem,
                        name=package,
                        purl=f"pkg:apk/{ecosystem.lower()}/{package}",
                        ranges=(Range(type=RangeType.ECOSYSTEM, events=tuple(range_events)),),
                        fix_state=fix_state,
                    ),
                ),
                details=optional_str(as_mapping(latest.get("data") or {}, advisory_id), "note") or "",
                sources=(ecosystem.lower(),),
            )
        )
    return advisories
