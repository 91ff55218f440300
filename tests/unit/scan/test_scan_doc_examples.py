"""The example files docs/scan.md shows must parse and mean what the page says."""

from __future__ import annotations

from pathlib import Path

from wharfinger.scan import VexStatus, parse_exceptions, parse_openvex

DOCS = Path(__file__).resolve().parents[3] / "docs" / "examples"


def test_exceptions_example() -> None:
    rules = parse_exceptions((DOCS / "scan-exceptions.yaml").read_bytes())
    assert [r.vulnerability_id for r in rules] == ["CVE-2023-5678", "GHSA-35jh-r3h4-6jhm"]
    assert rules[0].image == "registry.example.com/shop/*"


def test_openvex_example() -> None:
    statements = parse_openvex((DOCS / "scan.openvex.json").read_bytes())
    assert [s.status for s in statements] == [VexStatus.NOT_AFFECTED, VexStatus.AFFECTED]
    assert statements[0].products[0].subcomponents == ("pkg:deb/debian/liblog4j2-java",)
