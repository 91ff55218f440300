from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wharfinger.errors import InputError, ScanExceptionsError
from wharfinger.scan import FailOn, ScanPolicy, SuppressionKind, apply_policy, parse_exceptions
from wharfinger.vulndb.model import Severity

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)

GOOD = b"""\
exceptions:
  - id: CVE-2024-0001
    package: "pkg:deb/debian/libopenssl*"
    image: "registry.example.com/shop/*"
    reason: engine not loaded
    approver: security@example.com
    expires: 2026-11-24
  - id: cve-2024-0002
    reason: accepted for one sprint
    approver: alice@example.com
    expires: 2026-11-01T00:00:00Z
  - id: GHSA-aaaa-bbbb-cccc
    package: libcurl
    reason: alias match
    approver: bob@example.com
    expires: 2027-01-01
"""


def test_parse_and_apply(make_match) -> None:
    rules = parse_exceptions(GOOD)
    assert [r.line for r in rules] == [2, 8, 12]
    match = make_match(
        ("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", False),
        ("CVE-2024-0002", "zlib", Severity.HIGH, None, False),
    )
    policy = ScanPolicy(fail_on=FailOn.HIGH, exceptions=rules)
    in_shop = apply_policy(match, policy, now=NOW, image="registry.example.com/shop/cart:1.2")
    assert [s.finding.advisory_id for s in in_shop.suppressed] == ["CVE-2024-0001"]
    assert in_shop.suppressed[0].kind is SuppressionKind.EXCEPTION
    assert "security@example.com" in in_shop.suppressed[0].reason
    assert [e.vulnerability_id for e in in_shop.expired_exceptions] == ["cve-2024-0002"]
    assert not in_shop.gate.passed  # CVE-2024-0002's exception expired, so it still counts
    elsewhere = apply_policy(match, policy, now=NOW, image="docker.io/library/nginx:1")
    assert elsewhere.suppressed == ()


def test_date_expiry_covers_the_whole_day(make_match) -> None:
    rules = parse_exceptions(GOOD)
    match = make_match(("CVE-2024-0001", "openssl", Severity.CRITICAL, "1.1-1", False))
    image = "registry.example.com/shop/cart:1"
    last_minute = apply_policy(
        match, ScanPolicy(exceptions=rules), now=datetime(2026, 11, 24, 23, 59, tzinfo=UTC), image=image
    )
    next_day = apply_policy(
        match, ScanPolicy(exceptions=rules), now=datetime(2026, 11, 25, 0, 0, tzinfo=UTC), image=image
    )
    assert len(last_minute.suppressed) == 1
    assert next_day.suppressed == ()
    assert rules[0] in next_day.expired_exceptions


def test_alias_matches(make_match) -> None:
    rules = parse_exceptions(GOOD)
    match = make_match(("CVE-2024-0005", "curl", Severity.HIGH, "1.1-1", False), aliases=("GHSA-aaaa-bbbb-cccc",))
    result = apply_policy(match, ScanPolicy(exceptions=rules), now=NOW)
    assert len(result.suppressed) == 1


def test_every_problem_is_reported_with_its_line() -> None:
    bad = b"""\
exceptions:
  - id: CVE-2024-0001
    reason: no approver or expiry
  - id: CVE-2024-0002
    reason: bad date
    approver: a@example.com
    expires: next tuesday
  - id: CVE-2024-0003
    reason: typo
    approver: a@example.com
    expires: 2027-01-01
    imgae: "*"
  - just a string
"""
    with pytest.raises(ScanExceptionsError) as info:
        parse_exceptions(bad, source="exceptions.yaml")
    message = info.value.message
    assert "line 2: missing required field 'approver'" in message
    assert "line 2: missing required field 'expires'" in message
    assert "line 7: 'expires' must be a date" in message
    assert "line 12: unknown field 'imgae'" in message
    assert "line 13: each exception must be a mapping" in message
    assert "5 problem(s)" in message
    assert isinstance(info.value, InputError)
    assert info.value.hint


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"exceptions: [\n  - id: x\n", "line 2: not valid YAML"),
        (b"\xff\xfe", "UTF-8"),
        (b"exceptions: 5\n", "must be a list"),
        (
            b"- id: CVE-1\n  reason: r\n  approver: a\n  expires: 2027-01-01\n  package: [1, 2]\n",
            "line 5: 'package' must be",
        ),
        (b"a: 1\n", "top-level key 'exceptions'"),
    ],
)
def test_hostile_and_broken_files(data: bytes, fragment: str) -> None:
    with pytest.raises(ScanExceptionsError) as info:
        parse_exceptions(data)
    assert fragment in info.value.message


def test_empty_file_means_no_exceptions() -> None:
    assert parse_exceptions(b"") == ()
    assert parse_exceptions(b"exceptions:\n") == ()
