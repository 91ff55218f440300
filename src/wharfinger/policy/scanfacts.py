"""A vulnerability-scan attestation's predicate → ``VulnerabilitySummary`` (pure).

The predicate follows cosign's vulnerability attestation (``https://cosign.sigstore.dev/
attestation/vuln/v1``): ``scanner.result`` carries Wharfinger's findings list and
``metadata.scanFinishedOn`` the scan time::

    {"scanner": {"uri": "pkg:pypi/wharfinger", "version": "0.1.0",
                 "result": {"vulnerabilities": [{"id": "CVE-2024-3094", "severity": "critical",
                                                 "fixAvailable": true, "kev": true}]}},
     "metadata": {"scanStartedOn": "2026-11-24T10:00:00Z", "scanFinishedOn": "2026-11-24T10:00:05Z"}}

Anything else is ``Unscannable`` with the reason: a scan that cannot be read never passes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from wharfinger.policy.facts import Unscannable, VulnerabilitySummary
from wharfinger.vulndb.model import Severity

__all__ = ["VULN_PREDICATE_TYPE", "ScannedVulnerability", "build_predicate", "summary_from_predicate"]

VULN_PREDICATE_TYPE = "https://cosign.sigstore.dev/attestation/vuln/v1"
MAX_FINDINGS = 100_000  # findings read from one predicate


def summary_from_predicate(predicate: Mapping[str, object]) -> VulnerabilitySummary | Unscannable:
    metadata = predicate.get("metadata")
    scanner = predicate.get("scanner")
    if not isinstance(metadata, Mapping) or not isinstance(scanner, Mapping):
        return Unscannable(reason="the scan attestation has no scanner or metadata block")
    finished = metadata.get("scanFinishedOn")
    try:
        scanned_at = datetime.fromisoformat(str(finished))
    except ValueError:
        return Unscannable(reason=f"the scan attestation's scanFinishedOn {finished!r} is not a time")
    if scanned_at.tzinfo is None:
        scanned_at = scanned_at.replace(tzinfo=UTC)
    result = scanner.get("result")
    findings = result.get("vulnerabilities") if isinstance(result, Mapping) else None
    # verified predicates arrive frozen (tuples and read-only mappings), parsed JSON as lists and dicts
    if not isinstance(findings, Sequence) or isinstance(findings, str) or len(findings) > MAX_FINDINGS:
        return Unscannable(reason="the scan attestation has no readable scanner.result.vulnerabilities list")
    counts: Counter[Severity] = Counter()
    unfixed: Counter[Severity] = Counter()
    ids: dict[str, Severity] = {}
    fixable: set[str] = set()
    kev: list[str] = []
    for finding in findings:
        if not isinstance(finding, Mapping) or not isinstance(finding.get("id"), str):
            return Unscannable(reason="a finding in the scan attestation has no id")
        vuln_id = str(finding["id"])
        severity = Severity.parse(str(finding.get("severity", "unknown")))
        counts[severity] += 1
        has_fix = finding.get("fixAvailable") is True
        if has_fix:
            fixable.add(vuln_id)
        else:
            unfixed[severity] += 1
        if finding.get("kev") is True:
            kev.append(vuln_id)
        ids[vuln_id] = max(severity, ids.get(vuln_id, Severity.UNKNOWN))
    return VulnerabilitySummary(
        scanned_at=scanned_at,
        counts=dict(counts),
        unfixed_counts=dict(unfixed),
        kev_ids=tuple(sorted(set(kev))),
        vulnerability_ids=ids,
        fixable_ids=frozenset(fixable),
        scanner=str(scanner.get("uri", "")),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ScannedVulnerability:
    """One finding as the attestation carries it (what the admission rules read, nothing more)."""

    id: str
    severity: Severity
    has_fix: bool
    is_kev: bool
    package: str = ""  # purl or name, for people reading the attestation
    installed_version: str = ""


def build_predicate(
    findings: Iterable[ScannedVulnerability],
    *,
    started_at: datetime,
    finished_at: datetime,
    scanner_version: str,
    database: Mapping[str, str],
) -> dict[str, object]:
    """The vulnerability-scan predicate ``summary_from_predicate`` reads back (the one format, both ways)."""
    return {
        "invocation": {"uri": "wharfinger scan", "parameters": None},
        "scanner": {
            "uri": "pkg:pypi/wharfinger",
            "version": scanner_version,
            "db": dict(database),
            "result": {
                "vulnerabilities": [
                    {
                        "id": f.id,
                        "severity": f.severity.name.lower(),
                        "fixAvailable": f.has_fix,
                        "kev": f.is_kev,
                        "package": f.package,
                        "installedVersion": f.installed_version,
                    }
                    for f in findings
                ]
            },
        },
        "metadata": {"scanStartedOn": started_at.isoformat(), "scanFinishedOn": finished_at.isoformat()},
    }
