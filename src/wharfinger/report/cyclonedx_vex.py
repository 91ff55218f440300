"""``scan -o cyclonedx-vex``: CycloneDX 1.6 with the vulnerable components and a VEX analysis each.

One ``vulnerability`` per (advisory, package), because the analysis differs per package: the
active findings are ``exploitable`` with response ``update`` (a fixed version exists) or
``can_not_fix``/``will_not_fix``; a VEX ``not_affected`` suppression becomes ``not_affected``
with the mapped justification; an exception stays ``exploitable`` with its reason as detail.
Built with cyclonedx-python-lib, so the output is schema-valid by construction (the tests also
validate it). The serial number is derived from the content: the same scan, the same BOM.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from cyclonedx.model import Property, XsUri
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.impact_analysis import (
    ImpactAnalysisAffectedStatus,
    ImpactAnalysisJustification,
    ImpactAnalysisResponse,
    ImpactAnalysisState,
)
from cyclonedx.model.vulnerability import (
    BomTarget,
    BomTargetVersionRange,
    Vulnerability,
    VulnerabilityAnalysis,
    VulnerabilityRating,
    VulnerabilityReference,
    VulnerabilityScoreSource,
    VulnerabilitySeverity,
    VulnerabilitySource,
)
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from wharfinger.matching.finding import Finding
from wharfinger.report.scan_json import ScanSubject
from wharfinger.scan.result import ScanResult, Suppression, SuppressionKind
from wharfinger.vulndb.model import FixState, Severity
from wharfinger.vulndb.severity import cvss_version

__all__ = ["render_cyclonedx_vex"]

_NAMESPACE = uuid.UUID("8f0c2a9e-5b7e-4a55-9d7e-3f1b7c0d9a11")  # ours: serial numbers are uuid5 in it
_SEVERITY = {
    Severity.CRITICAL: VulnerabilitySeverity.CRITICAL,
    Severity.HIGH: VulnerabilitySeverity.HIGH,
    Severity.MEDIUM: VulnerabilitySeverity.MEDIUM,
    Severity.LOW: VulnerabilitySeverity.LOW,
    Severity.NEGLIGIBLE: VulnerabilitySeverity.INFO,
    Severity.UNKNOWN: VulnerabilitySeverity.UNKNOWN,
}
_METHOD = {
    "2.0": VulnerabilityScoreSource.CVSS_V2,
    "3.0": VulnerabilityScoreSource.CVSS_V3,
    "3.1": VulnerabilityScoreSource.CVSS_V3_1,
    "4.0": VulnerabilityScoreSource.CVSS_V4,
}
# OpenVEX justifications → the nearest CycloneDX impact-analysis justification.
_JUSTIFICATION = {
    "component_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_present": ImpactAnalysisJustification.CODE_NOT_PRESENT,
    "vulnerable_code_not_in_execute_path": ImpactAnalysisJustification.CODE_NOT_REACHABLE,
    "vulnerable_code_cannot_be_controlled_by_adversary": ImpactAnalysisJustification.REQUIRES_ENVIRONMENT,
    "inline_mitigations_already_exist": ImpactAnalysisJustification.PROTECTED_BY_MITIGATING_CONTROL,
}


def _source(vuln_id: str) -> VulnerabilitySource:
    if vuln_id.startswith("CVE-"):
        return VulnerabilitySource(name="NVD", url=XsUri(f"https://nvd.nist.gov/vuln/detail/{vuln_id}"))
    if vuln_id.startswith("GHSA-"):
        return VulnerabilitySource(name="GitHub", url=XsUri(f"https://github.com/advisories/{vuln_id}"))
    return VulnerabilitySource(name="OSV", url=XsUri(f"https://osv.dev/vulnerability/{vuln_id}"))


def _component(finding: Finding) -> Component:
    package = finding.package
    try:
        purl: PackageURL | None = PackageURL.from_string(package.purl)
    except ValueError:
        purl = None  # odd purls from other tools' SBOMs: keep the component, drop the purl
    return Component(
        name=package.name,
        version=package.version,
        type=ComponentType.LIBRARY,
        bom_ref=package.purl or f"{package.type.value}:{package.name}@{package.version}",
        purl=purl,
        properties=[Property(name="wharfinger:layer", value=package.layer_digest)] if package.layer_digest else None,
    )


def _analysis(finding: Finding, suppression: Suppression | None) -> VulnerabilityAnalysis:
    if suppression is not None and suppression.kind is SuppressionKind.VEX and suppression.vex is not None:
        justification = _JUSTIFICATION.get(suppression.vex.justification or "")
        return VulnerabilityAnalysis(
            state=ImpactAnalysisState.NOT_AFFECTED
            if suppression.vex.status.value == "not_affected"
            else ImpactAnalysisState.RESOLVED,
            justification=justification,
            detail=suppression.reason,
        )
    if finding.fix_state is FixState.FIXED:
        responses = [ImpactAnalysisResponse.UPDATE]
    elif finding.fix_state is FixState.WONT_FIX:
        responses = [ImpactAnalysisResponse.WILL_NOT_FIX]
    else:
        responses = [ImpactAnalysisResponse.CAN_NOT_FIX]
    detail = finding.explanation
    if suppression is not None:
        detail = f"accepted ({suppression.kind.value}): {suppression.reason}. {detail}"
    return VulnerabilityAnalysis(state=ImpactAnalysisState.EXPLOITABLE, responses=responses, detail=detail)


def _vulnerability(finding: Finding, bom_ref: str, suppression: Suppression | None) -> Vulnerability:
    advisory = finding.advisory
    ratings = [
        VulnerabilityRating(
            source=_source(finding.advisory_id),
            score=Decimal(str(advisory.cvss_score)) if advisory.cvss_score is not None and i == 0 else None,
            severity=_SEVERITY[finding.severity],
            method=_METHOD.get(cvss_version(vector), VulnerabilityScoreSource.OTHER),
            vector=vector,
        )
        for i, vector in enumerate(advisory.cvss_vectors[:1])
    ] or [VulnerabilityRating(severity=_SEVERITY[finding.severity], method=VulnerabilityScoreSource.OTHER)]
    recommendation = (
        f"Upgrade {finding.matched_name} to {' or '.join(finding.fixed_versions)}" if finding.fixed_versions else None
    )
    properties = [Property(name="wharfinger:fix-state", value=finding.fix_state.value)]
    if advisory.kev:
        properties.append(Property(name="wharfinger:kev", value="true"))
    if advisory.epss is not None:
        properties.append(Property(name="wharfinger:epss", value=f"{advisory.epss:.5f}"))
    return Vulnerability(
        bom_ref=f"{finding.advisory_id}/{bom_ref}",
        id=finding.advisory_id,
        source=_source(finding.advisory_id),
        references=[VulnerabilityReference(id=alias, source=_source(alias)) for alias in finding.aliases],
        ratings=ratings,
        description=advisory.summary or None,
        detail=advisory.details[:4000] or None,
        recommendation=recommendation,
        published=advisory.published,
        updated=advisory.modified,
        analysis=_analysis(finding, suppression),
        affects=[
            BomTarget(
                ref=bom_ref,
                versions=[
                    BomTargetVersionRange(version=finding.package.version, status=ImpactAnalysisAffectedStatus.AFFECTED)
                ],
            )
        ],
        properties=properties,
    )


def render_cyclonedx_vex(result: ScanResult, subject: ScanSubject) -> str:
    pairs: list[tuple[Finding, Suppression | None]] = [(f, None) for f in result.findings]
    pairs += [(s.finding, s) for s in result.suppressed]
    components: dict[str, Component] = {}
    vulnerabilities: list[Vulnerability] = []
    for finding, suppression in pairs:
        component = _component(finding)
        ref = str(component.bom_ref.value)
        components.setdefault(ref, component)
        vulnerabilities.append(_vulnerability(finding, ref, suppression))
    identity = "\n".join([subject.name, subject.digest or "", *sorted(str(v.bom_ref.value) for v in vulnerabilities)])
    subject_component = Component(
        name=subject.name,
        type=ComponentType.CONTAINER if subject.kind == "image" else ComponentType.APPLICATION,
        bom_ref=f"subject:{subject.name}",
        version=subject.digest,
    )
    bom = Bom(
        serial_number=uuid.uuid5(_NAMESPACE, identity),
        metadata=BomMetaData(component=subject_component, timestamp=result.scanned_at),
        components=components.values(),
        vulnerabilities=vulnerabilities,
    )
    bom.register_dependency(subject_component, list(components.values()))  # the image holds each package
    return JsonV1Dot6(bom).output_as_string(indent=2) + "\n"
