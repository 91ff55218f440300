from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wharfinger.scan import FailOn, ScanPolicy, apply_policy
from wharfinger.vulndb.model import Severity

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("fail_on", "passed"),
    [(FailOn.CRITICAL, True), (FailOn.HIGH, False), (FailOn.MEDIUM, False), (FailOn.LOW, False)],
)
def test_threshold(make_match, fail_on: FailOn, passed: bool) -> None:
    match = make_match(("CVE-2024-0001", "openssl", Severity.HIGH, "1.1-1", False))
    result = apply_policy(match, ScanPolicy(fail_on=fail_on), now=NOW)
    assert result.gate.passed is passed


def test_failed_summary_is_one_line_naming_the_worst(make_match) -> None:
    match = make_match(
        ("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", True),
        ("CVE-2024-0002", "zlib", Severity.HIGH, None, False),
        ("CVE-2024-0003", "curl", Severity.LOW, "1.1-1", False),
    )
    result = apply_policy(match, ScanPolicy(fail_on=FailOn.HIGH), now=NOW)
    assert not result.gate.passed
    summary = result.gate.summary
    assert "\n" not in summary
    assert summary.startswith("gate failed: 2 vulnerabilities at or above high")
    assert "1 critical, 1 high" in summary
    assert "1 fixable" in summary
    assert "1 known exploited" in summary
    assert summary.index("CVE-2024-0001") < summary.index("CVE-2024-0002")  # worst first
    assert "CVE-2024-0003" not in summary
    assert [f.advisory_id for f in result.kev] == ["CVE-2024-0001"]


def test_ignore_unfixed_suppresses_with_a_reason(make_match) -> None:
    match = make_match(("CVE-2024-0002", "zlib", Severity.CRITICAL, None, False))
    strict = apply_policy(match, ScanPolicy(fail_on=FailOn.HIGH), now=NOW)
    lenient = apply_policy(match, ScanPolicy(fail_on=FailOn.HIGH, ignore_unfixed=True), now=NOW)
    assert not strict.gate.passed
    assert lenient.gate.passed
    (suppression,) = lenient.suppressed
    assert "--ignore-unfixed" in suppression.reason
    assert "1 suppressed" in lenient.gate.summary


def test_unknown_severity_never_trips_but_is_counted(make_match) -> None:
    match = make_match(("CVE-2024-0009", "zlib", Severity.UNKNOWN, "1.1-1", False))
    result = apply_policy(match, ScanPolicy(fail_on=FailOn.LOW), now=NOW)
    assert result.gate.passed
    assert "1 of unknown severity" in result.gate.summary


def test_no_gate_always_passes(make_match) -> None:
    match = make_match(("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", False))
    result = apply_policy(match, ScanPolicy(), now=NOW)
    assert result.gate.passed
    assert "1 critical" in result.gate.summary
