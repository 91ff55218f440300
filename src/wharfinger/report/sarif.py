"""``scan -o sarif``: SARIF 2.1.0 for GitHub and Azure DevOps code scanning.

One rule per vulnerability (``ruleId`` = the advisory id), one result per vulnerable package.
GitHub reads ``properties.security-severity`` (a CVSS-like number) to rank alerts, and needs a
physical location: the file that is evidence for the package (``/var/lib/dpkg/status``, a
``METADATA`` file …), relative to the image root. Suppressed findings (VEX, exceptions,
``--ignore-unfixed``) are results with a ``suppressions`` entry, so they stay visible but do
not alert. ``partialFingerprints`` identify a finding across scans (vulnerability + purl).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from wharfinger import __version__
from wharfinger.matching.finding import Finding
from wharfinger.report.scan_json import ScanSubject
from wharfinger.scan.result import ScanResult, Suppression
from wharfinger.vulndb.model import Severity

__all__ = ["SARIF_SCHEMA_URI", "render_sarif"]

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
_INFORMATION_URI = "https://github.com/wharfinger/wharfinger"
# GitHub's bands: over 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.NEGLIGIBLE: "0.5",
    Severity.UNKNOWN: "0.0",
}
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.NEGLIGIBLE: "note",
    Severity.UNKNOWN: "warning",  # unknown is not "fine": ask someone to look
}


def _location_uri(finding: Finding, subject: ScanSubject) -> str:
    package = finding.package
    if package.locations:
        return package.locations[0].path.lstrip("/") or subject.name
    return subject.name


def _security_severity(finding: Finding) -> str:
    score = finding.advisory.cvss_score
    if score is not None and finding.severity is finding.advisory.severity:
        return f"{score:.1f}"
    return _SECURITY_SEVERITY[finding.severity]


def _rule(finding: Finding) -> dict[str, Any]:
    advisory = finding.advisory
    summary = advisory.summary or f"{finding.advisory_id} in {finding.matched_name}"
    help_lines = [f"**{finding.advisory_id}**: {summary}"]
    if finding.aliases:
        help_lines.append(f"Also known as: {', '.join(finding.aliases)}")
    if advisory.kev:
        help_lines.append("Listed in CISA's Known Exploited Vulnerabilities catalogue.")
    help_lines += [f"- {url}" for url in advisory.references[:5]]
    rule: dict[str, Any] = {
        "id": finding.advisory_id,
        "name": finding.advisory_id.replace("-", ""),
        "shortDescription": {"text": summary[:1000]},
        "fullDescription": {"text": (advisory.details or summary)[:4000]},
        "help": {"text": "\n".join(help_lines), "markdown": "\n\n".join(help_lines)},
        "defaultConfiguration": {"level": _LEVEL[finding.severity]},
        "properties": {
            "security-severity": _security_severity(finding),
            "tags": ["security", "vulnerability", finding.severity.name.lower()],
            "precision": "very-high",
        },
    }
    if advisory.references:
        rule["helpUri"] = advisory.references[0]
    return rule


def _message(finding: Finding) -> str:
    package = finding.package
    fixed = (
        f"fixed in {', '.join(finding.fixed_versions)}"
        if finding.fixed_versions
        else f"no fix: {finding.fix_state.value}"
    )
    kev = " It is known to be exploited (CISA KEV)." if finding.kev else ""
    return (
        f"{package.name} {package.version} is affected by {finding.advisory_id} "
        f"({finding.severity.name.lower()}); {fixed}.{kev} {finding.explanation}"
    ).strip()


def _fingerprint(finding: Finding) -> str:
    return hashlib.sha256(f"{finding.advisory_id}\n{finding.package.purl}".encode()).hexdigest()


def _result(finding: Finding, subject: ScanSubject, rule_index: int, suppression: Suppression | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.advisory_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "message": {"text": _message(finding)},
        "locations": [
            {
                "physicalLocation": {"artifactLocation": {"uri": _location_uri(finding, subject)}},
                "logicalLocations": [
                    {"name": finding.package.name, "fullyQualifiedName": finding.package.purl, "kind": "package"}
                ],
            }
        ],
        "partialFingerprints": {"wharfingerFinding/v1": _fingerprint(finding)},
        "properties": {
            "package": finding.package.purl,
            "installedVersion": finding.installed_version,
            "fixedVersions": list(finding.fixed_versions),
            "fixState": finding.fix_state.value,
            "layer": finding.layer_digest,
            "kev": finding.kev,
            "epss": finding.advisory.epss,
        },
    }
    if suppression is not None:
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": suppression.reason}]
    return result


def render_sarif(result: ScanResult, subject: ScanSubject) -> str:
    everything: list[tuple[Finding, Suppression | None]] = [(f, None) for f in result.findings]
    everything += [(s.finding, s) for s in result.suppressed]
    rules: dict[str, int] = {}
    rule_objects: list[dict[str, Any]] = []
    for finding, _ in everything:
        if finding.advisory_id not in rules:
            rules[finding.advisory_id] = len(rule_objects)
            rule_objects.append(_rule(finding))
    results = [_result(f, subject, rules[f.advisory_id], s) for f, s in everything]
    invocation: dict[str, Any] = {
        "executionSuccessful": True,
        "properties": {"gatePassed": result.gate.passed, "gateSummary": result.gate.summary},
    }
    if result.scanned_at is not None:
        invocation["endTimeUtc"] = result.scanned_at.isoformat().replace("+00:00", "Z")
    notifications = [
        {"level": "warning", "message": {"text": f"{s.package.name} {s.package.version} was not matched: {s.reason}"}}
        for s in result.match.skipped
    ]
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    document = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "wharfinger",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": _INFORMATION_URI,
                        "rules": rule_objects,
                    }
                },
                "invocations": [invocation],
                "results": results,
                "properties": {
                    "subject": subject.name,
                    "subjectKind": subject.kind,
                    "subjectDigest": subject.digest,
                    "distro": subject.distro,
                },
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
