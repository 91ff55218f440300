"""Apply a scan policy to matched findings: ``--ignore-unfixed``, exceptions, VEX, the gate.

``apply_policy(match, policy, now=…, image=…)`` is pure: ``now`` decides which exceptions have
expired, and every finding that does not count says why (``Suppression``).
Order: VEX statements first (the supplier's word about the product), then exceptions (our own
reviewed decisions), then ``--ignore-unfixed``. KEV-listed findings are collected for
highlighting whatever happens to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from wharfinger.matching.finding import Finding, MatchResult
from wharfinger.scan.exceptions import ScanException
from wharfinger.scan.gate import FailOn, GateVerdict, gate_verdict
from wharfinger.scan.vex import VexStatement, VexStatus, applicable_statement

__all__ = ["ScanPolicy", "ScanResult", "Suppression", "SuppressionKind", "apply_policy"]


class SuppressionKind(StrEnum):
    VEX = "vex"
    EXCEPTION = "exception"
    UNFIXED = "unfixed"


@dataclass(frozen=True, slots=True, kw_only=True)
class Suppression:
    finding: Finding
    kind: SuppressionKind
    reason: str  # shown to the user: the justification, the exception's reason and approver …
    exception: ScanException | None = None
    vex: VexStatement | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanPolicy:
    fail_on: FailOn | None = None
    ignore_unfixed: bool = False
    exceptions: tuple[ScanException, ...] = ()
    vex: tuple[VexStatement, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanResult:
    match: MatchResult
    findings: tuple[Finding, ...]  # active: these count for the gate
    suppressed: tuple[Suppression, ...]
    expired_exceptions: tuple[ScanException, ...]
    unused_exceptions: tuple[ScanException, ...]
    vex_notes: tuple[tuple[Finding, VexStatement], ...]  # affected / under_investigation statements
    kev: tuple[Finding, ...]  # KEV-listed, active or not: highlighted in every report
    gate: GateVerdict
    image: str | None = None
    scanned_at: datetime | None = None


def apply_policy(
    match: MatchResult,
    policy: ScanPolicy,
    *,
    now: datetime,
    image: str | None = None,
    image_digest: str | None = None,
) -> ScanResult:
    live_exceptions = tuple(e for e in policy.exceptions if not e.is_expired(now))
    expired = tuple(e for e in policy.exceptions if e.is_expired(now))
    used: set[int] = set()
    active: list[Finding] = []
    suppressed: list[Suppression] = []
    notes: list[tuple[Finding, VexStatement]] = []
    for finding in match.findings:
        statement = (
            applicable_statement(policy.vex, finding, image=image, image_digest=image_digest) if policy.vex else None
        )
        if statement is not None and statement.status.suppresses:
            suppressed.append(
                Suppression(finding=finding, kind=SuppressionKind.VEX, reason=statement.describe(), vex=statement)
            )
            continue
        if statement is not None and statement.status in (VexStatus.AFFECTED, VexStatus.UNDER_INVESTIGATION):
            notes.append((finding, statement))
        exception = next((e for e in live_exceptions if e.applies_to(finding, image)), None)
        if exception is not None:
            used.add(id(exception))
            suppressed.append(
                Suppression(
                    finding=finding, kind=SuppressionKind.EXCEPTION, reason=exception.describe(), exception=exception
                )
            )
            continue
        if policy.ignore_unfixed and not finding.has_fix:
            suppressed.append(
                Suppression(
                    finding=finding,
                    kind=SuppressionKind.UNFIXED,
                    reason=f"--ignore-unfixed: {finding.fix_state.value}, no fixed version to upgrade to",
                )
            )
            continue
        active.append(finding)
    findings = tuple(active)
    return ScanResult(
        match=match,
        findings=findings,
        suppressed=tuple(suppressed),
        expired_exceptions=expired,
        unused_exceptions=tuple(e for e in live_exceptions if id(e) not in used),
        vex_notes=tuple(notes),
        kev=tuple(f for f in match.findings if f.kev),
        gate=gate_verdict(findings, fail_on=policy.fail_on, suppressed=len(suppressed)),
        image=image,
        scanned_at=now,
    )
