"""``scan -o json``: the scan result as one JSON document (schema ``wharfinger.scan/v1``).

The schema is documented field by field in ``docs/scan-json.md``; keys are never removed
within a schema version, only added.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from wharfinger.matching.finding import Finding
from wharfinger.scan.exceptions import ScanException
from wharfinger.scan.result import ScanResult
from wharfinger.vulndb.model import Severity

__all__ = ["SCHEMA", "ScanSubject", "render_scan_json", "scan_document"]

SCHEMA = "wharfinger.scan/v1"


class ScanSubject:
    """What was scanned, as the user named it (kept free of inventory/sbom types)."""

    __slots__ = ("digest", "distro", "kind", "name")

    def __init__(self, *, name: str, kind: str, digest: str | None = None, distro: str | None = None) -> None:
        self.name, self.kind, self.digest, self.distro = name, kind, digest, distro


def _finding(finding: Finding) -> dict[str, Any]:
    package, advisory = finding.package, finding.advisory
    return {
        "id": finding.advisory_id,
        "aliases": list(finding.aliases),
        "severity": finding.severity.name.lower(),
        "package": {
            "name": package.name,
            "version": package.version,
            "type": package.type.value,
            "purl": package.purl,
            "layer": package.layer_digest,
        },
        "installed_version": finding.installed_version,
        "fixed_versions": list(finding.fixed_versions),
        "fix_state": finding.fix_state.value,
        "ecosystem": finding.ecosystem,
        "matched_name": finding.matched_name,
        "kev": advisory.kev,
        "epss": advisory.epss,
        "cvss_score": advisory.cvss_score,
        "cvss_vectors": list(advisory.cvss_vectors),
        "summary": advisory.summary,
        "references": list(advisory.references[:10]),
        "explanation": finding.explanation,
    }


def _exception(rule: ScanException) -> dict[str, Any]:
    return {
        "id": rule.vulnerability_id,
        "package": rule.package,
        "image": rule.image,
        "reason": rule.reason,
        "approver": rule.approver,
        "expires_at": rule.expires_at.isoformat(),
        "line": rule.line,
    }


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def scan_document(
    result: ScanResult, subject: ScanSubject, *, database: dict[str, Any] | None = None
) -> dict[str, Any]:
    by_severity = Counter(f.severity.name.lower() for f in result.findings)
    notes = {
        id(f): {"status": s.status.value, "action_statement": s.action_statement, "document": s.document}
        for f, s in result.vex_notes
    }
    return {
        "schema": SCHEMA,
        "source": {"name": subject.name, "kind": subject.kind, "digest": subject.digest, "distro": subject.distro},
        "scanned_at": _time(result.scanned_at),
        "database": database,
        "gate": {
            "passed": result.gate.passed,
            "fail_on": result.gate.threshold.name.lower() if result.gate.threshold is not None else None,
            "summary": result.gate.summary,
        },
        "summary": {
            "packages": result.match.packages_total,
            "packages_matched": result.match.packages_matched,
            "packages_skipped": len(result.match.skipped),
            "findings": len(result.findings),
            "suppressed": len(result.suppressed),
            "kev": len(result.kev),
            "by_severity": {s.name.lower(): by_severity[s.name.lower()] for s in sorted(Severity, reverse=True)},
        },
        "findings": [{**_finding(f), "vex": notes.get(id(f))} for f in result.findings],
        "suppressed": [
            {**_finding(s.finding), "suppressed_by": s.kind.value, "reason": s.reason} for s in result.suppressed
        ],
        "expired_exceptions": [_exception(e) for e in result.expired_exceptions],
        "unused_exceptions": [_exception(e) for e in result.unused_exceptions],
        "skipped_packages": [
            {
                "name": s.package.name,
                "version": s.package.version,
                "type": s.package.type.value,
                "purl": s.package.purl,
                "reason": s.reason,
            }
            for s in result.match.skipped
        ],
        "problems": [
            {"package": p.package.purl or p.package.name, "advisory": p.advisory_id, "reason": p.reason}
            for p in result.match.problems
        ],
        "ignored_ranges": list(result.match.ignored_ranges),
    }


def render_scan_json(result: ScanResult, subject: ScanSubject, *, database: dict[str, Any] | None = None) -> str:
    return json.dumps(scan_document(result, subject, database=database), indent=2, ensure_ascii=False) + "\n"
