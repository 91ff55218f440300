"""The CI gate: ``--fail-on critical|high|medium|low`` with ``--ignore-unfixed``.

The gate fails when an unsuppressed finding is at or above the threshold. Findings of unknown
severity never trip a threshold (they are counted in the summary so nobody mistakes them for
clean). The verdict carries a one-line summary of why, for the CLI and for CI logs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from wharfinger.matching.finding import Finding
from wharfinger.vulndb.model import Severity

__all__ = ["FailOn", "GateVerdict", "gate_verdict"]

_SHOWN = 3  # findings named in the one-line summary


class FailOn(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    def to_severity(self) -> Severity:
        return Severity[self.name]


@dataclass(frozen=True, slots=True, kw_only=True)
class GateVerdict:
    passed: bool
    summary: str  # one line
    threshold: Severity | None
    failing: tuple[Finding, ...] = ()


def _counts(findings: tuple[Finding, ...]) -> str:
    counts = Counter(f.severity for f in findings)
    return ", ".join(f"{counts[s]} {s.name.lower()}" for s in sorted(counts, reverse=True))


def gate_verdict(findings: tuple[Finding, ...], *, fail_on: FailOn | None, suppressed: int = 0) -> GateVerdict:
    """Decide the gate over the findings that are still active (suppressions already applied)."""
    unknown = sum(1 for f in findings if f.severity is Severity.UNKNOWN)
    tail = "".join(
        [f"; {suppressed} suppressed" if suppressed else "", f"; {unknown} of unknown severity" if unknown else ""]
    )
    if fail_on is None:
        counted = _counts(findings) or "none"
        return GateVerdict(
            passed=True, summary=f"no gate set: {len(findings)} vulnerabilities ({counted}){tail}", threshold=None
        )
    threshold = fail_on.to_severity()
    failing = tuple(
        sorted(
            (f for f in findings if f.severity is not Severity.UNKNOWN and f.severity >= threshold),
            key=lambda f: (-f.severity, not f.kev, f.advisory_id, f.package.name),
        )
    )
    if not failing:
        below = len(findings)
        return GateVerdict(
            passed=True,
            summary=f"gate passed: no vulnerabilities at or above {fail_on.value} ({below} below){tail}",
            threshold=threshold,
        )
    fixable = sum(1 for f in failing if f.has_fix)
    kev = sum(1 for f in failing if f.kev)
    named = ", ".join(
        f"{f.advisory_id} in {f.package.name} {f.package.version}" + (" [KEV]" if f.kev else "")
        for f in failing[:_SHOWN]
    )
    more = f" and {len(failing) - _SHOWN} more" if len(failing) > _SHOWN else ""
    kev_text = f", {kev} known exploited" if kev else ""
    summary = (
        f"gate failed: {len(failing)} vulnerabilities at or above {fail_on.value} ({_counts(failing)}; "
        f"{fixable} fixable{kev_text}): {named}{more}{tail}"
    )
    return GateVerdict(passed=False, summary=summary, threshold=threshold, failing=failing)
