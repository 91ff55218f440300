from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from wharfinger.errors import VexError
from wharfinger.scan import FailOn, ScanPolicy, SuppressionKind, VexStatus, apply_policy, parse_openvex
from wharfinger.vulndb.model import Severity

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "d" * 64


def document(*statements: dict[str, object], timestamp: str = "2024-01-08T18:02:03.647787998-06:00") -> bytes:
    return json.dumps(
        {
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "https://example.com/vex/1",
            "author": "Example Security",
            "timestamp": timestamp,
            "version": 1,
            "statements": list(statements),
        }
    ).encode()


def test_not_affected_suppresses_with_justification(make_match) -> None:
    vex = parse_openvex(
        document(
            {
                "vulnerability": {"name": "CVE-2024-0001"},
                "products": [
                    {
                        "@id": f"pkg:oci/shop@{DIGEST.replace(':', '%3A')}",
                        "subcomponents": [{"@id": "pkg:deb/debian/libopenssl"}],
                    }
                ],
                "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "impact_statement": "the CLI is not shipped",
            }
        ),
        source="shop.vex.json",
    )
    match = make_match(
        ("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", False),
        ("CVE-2024-0002", "openssl", Severity.LOW, "1.1-1", False),
    )
    result = apply_policy(match, ScanPolicy(fail_on=FailOn.HIGH, vex=vex), now=NOW, image_digest=DIGEST)
    assert result.gate.passed
    (suppression,) = result.suppressed
    assert suppression.kind is SuppressionKind.VEX
    assert "vulnerable_code_not_in_execute_path" in suppression.reason
    assert "shop.vex.json" in suppression.reason
    other_image = apply_policy(
        match, ScanPolicy(fail_on=FailOn.HIGH, vex=vex), now=NOW, image_digest="sha256:" + "e" * 64
    )
    assert not other_image.gate.passed


def test_package_purl_product_with_version_must_match(make_match) -> None:
    statement = {
        "vulnerability": "CVE-2024-0001",
        "products": ["pkg:deb/debian/libopenssl@1.0-1"],
        "status": "fixed",
    }
    match = make_match(("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", False))
    assert len(apply_policy(match, ScanPolicy(vex=parse_openvex(document(statement))), now=NOW).suppressed) == 1
    statement["products"] = ["pkg:deb/debian/libopenssl@0.9-1"]
    assert apply_policy(match, ScanPolicy(vex=parse_openvex(document(statement))), now=NOW).suppressed == ()


def test_latest_statement_wins_and_affected_keeps_the_finding(make_match) -> None:
    earlier = {
        "vulnerability": {"name": "CVE-2024-0001"},
        "products": ["pkg:deb/debian/libopenssl"],
        "status": "not_affected",
        "justification": "component_not_present",
        "timestamp": "2024-01-01T00:00:00Z",
    }
    later = {
        "vulnerability": {"name": "CVE-2024-0001"},
        "products": ["pkg:deb/debian/libopenssl"],
        "status": "affected",
        "action_statement": "upgrade to 1.1-1",
        "timestamp": "2024-02-01T00:00:00Z",
    }
    match = make_match(("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", False))
    result = apply_policy(match, ScanPolicy(fail_on=FailOn.HIGH, vex=parse_openvex(document(later, earlier))), now=NOW)
    assert not result.gate.passed
    ((_, note),) = result.vex_notes
    assert note.status is VexStatus.AFFECTED
    assert "upgrade" in (note.action_statement or "")


def test_aliases_in_statements_match(make_match) -> None:
    statement = {
        "vulnerability": {"name": "GHSA-xxxx-yyyy-zzzz", "aliases": ["CVE-2024-0001"]},
        "products": ["pkg:deb/debian/libopenssl"],
        "status": "not_affected",
        "justification": "inline_mitigations_already_exist",
    }
    match = make_match(("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", False))
    assert len(apply_policy(match, ScanPolicy(vex=parse_openvex(document(statement))), now=NOW).suppressed) == 1


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"{not json", "not JSON"),
        (json.dumps({"statements": []}).encode(), "not OpenVEX"),
        (document({"vulnerability": "CVE-1", "products": ["x"], "status": "maybe"}), "unknown status"),
        (document({"vulnerability": "CVE-1", "products": ["x"], "status": "not_affected"}), "needs a justification"),
        (document({"vulnerability": "CVE-1", "products": [], "status": "fixed"}), "no products"),
        (document({"products": ["x"], "status": "fixed"}), "names no vulnerability"),
        (
            document(
                {"vulnerability": "CVE-1", "products": ["x"], "status": "not_affected", "justification": "trust me"}
            ),
            "unknown justification",
        ),
        (
            document({"vulnerability": "CVE-1", "products": ["x"], "status": "fixed", "timestamp": "yesterday"}),
            "ISO 8601",
        ),
    ],
)
def test_bad_vex_documents(data: bytes, fragment: str) -> None:
    with pytest.raises(VexError) as info:
        parse_openvex(data)
    assert fragment in info.value.message
    assert info.value.hint
