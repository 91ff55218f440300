from __future__ import annotations

from collections.abc import Callable

import pytest

from wharfinger.inventory.package import Package, PackageType
from wharfinger.matching import Finding, MatchResult, MemorySource, match_packages
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity


def _advisory(
    vuln_id: str, package: str, severity: Severity, *, fixed: str | None, kev: bool, aliases: tuple[str, ...]
) -> Advisory:
    events = [Event(kind=EventKind.INTRODUCED, value="0")]
    if fixed:
        events.append(Event(kind=EventKind.FIXED, value=fixed))
    affected = Affected(
        ecosystem="Debian:12",
        name=package,
        ranges=(Range(type=RangeType.ECOSYSTEM, events=tuple(events)),),
        fix_state=FixState.FIXED if fixed else FixState.NOT_FIXED,
    )
    return Advisory(id=vuln_id, aliases=aliases, severity=severity, kev=kev, affected=(affected,))


@pytest.fixture
def make_match() -> Callable[..., MatchResult]:
    """Findings made by the real matcher: each row (id, source package, severity, fixed, kev)."""

    def make(*rows: tuple[str, str, Severity, str | None, bool], aliases: tuple[str, ...] = ()) -> MatchResult:
        advisories = [_advisory(i, p, s, fixed=f, kev=k, aliases=aliases) for i, p, s, f, k in rows]
        packages = [
            Package(
                name=f"lib{p}",
                version="1.0-1",
                type=PackageType.DEB,
                purl=f"pkg:deb/debian/lib{p}@1.0-1?arch=amd64&distro=debian-12",
                source_name=p,
                layer_digest="sha256:" + "c" * 64,
            )
            for p in dict.fromkeys(r[1] for r in rows)
        ]
        return match_packages(packages, MemorySource(advisories))

    return make


def by_id(findings: tuple[Finding, ...]) -> dict[str, Finding]:
    return {f.advisory_id: f for f in findings}
