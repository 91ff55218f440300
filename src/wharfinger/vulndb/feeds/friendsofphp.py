"""FriendsOfPHP security-advisories (``<vendor>/<package>/<id>.yaml``): per-branch composer constraints."""

from __future__ import annotations

import re
from typing import Any

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.feeds.fields import as_mapping, as_str_list, optional_str, parse_time, required_str
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType

__all__ = ["parse_friendsofphp"]

_CONSTRAINT = re.compile(r"^\s*(>=|<=|>|<|==|=)?\s*v?(\S+)\s*$")


def parse_friendsofphp(document: Any, *, stem: str) -> Advisory:
    record = as_mapping(document, "FriendsOfPHP advisory")
    reference = required_str(record, "reference", f"FriendsOfPHP advisory {stem}")
    if not reference.startswith("composer://"):
        raise AdvisoryFormatError(f"FriendsOfPHP advisory {stem}: reference {reference!r} is not composer://")
    package = reference.removeprefix("composer://")
    cve = optional_str(record, "cve")
    vuln_id = cve if cve and cve.startswith("CVE-") else f"FRIENDSOFPHP-{package}-{stem}"
    what = f"FriendsOfPHP {vuln_id}"
    ranges: list[Range] = []
    times = []
    has_fix = False
    for branch_name, raw in as_mapping(record.get("branches"), f"{what} branches").items():
        branch = as_mapping(raw, f"{what} branch {branch_name}")
        events = _branch_events(as_str_list(branch.get("versions"), f"{what} branch {branch_name}"), what)
        has_fix = has_fix or any(e.kind is EventKind.FIXED for e in events)
        ranges.append(Range(type=RangeType.ECOSYSTEM, events=events))
        if (when := parse_time(branch.get("time"), f"{what} time")) is not None:
            times.append(when)
    if not ranges:
        raise AdvisoryFormatError(f"{what} has no branches")
    link = optional_str(record, "link")
    return Advisory(
        id=vuln_id,
        summary=optional_str(record, "title") or "",
        published=min(times) if times else None,
        modified=max(times) if times else None,
        affected=(
            Affected(
                ecosystem="Packagist",
                name=package,
                purl=f"pkg:composer/{package}",
                ranges=tuple(ranges),
                fix_state=FixState.FIXED if has_fix else FixState.NOT_FIXED,
            ),
        ),
        references=(link,) if link else (),
        sources=("friendsofphp",),
    )


def _branch_events(constraints: tuple[str, ...], what: str) -> tuple[Event, ...]:
    """``['>=3.0.0', '<3.5.18']`` (an AND) → introduced 3.0.0, fixed 3.5.18."""
    introduced = "0"
    upper: Event | None = None
    for constraint in constraints:
        match = _CONSTRAINT.match(constraint)
        if match is None:
            raise AdvisoryFormatError(f"{what}: constraint {constraint!r} does not parse")
        op, version = match.group(1) or "=", match.group(2)
        if op in {">=", ">"}:
            introduced = version  # ">" starts one version later; OSV cannot say so, we start at it
        elif op == "<":
            upper = Event(kind=EventKind.FIXED, value=version)
        elif op == "<=":
            upper = Event(kind=EventKind.LAST_AFFECTED, value=version)
        else:
            introduced, upper = version, Event(kind=EventKind.LAST_AFFECTED, value=version)
    events = [Event(kind=EventKind.INTRODUCED, value=introduced)]
    if upper is not None:
        events.append(upper)
    return tuple(events)
