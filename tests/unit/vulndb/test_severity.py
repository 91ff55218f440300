from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.model import Advisory, Affected, Severity
from wharfinger.vulndb.severity import compute_severity, score_vector, severity_for, severity_from_score

# Base scores as published by NVD / FIRST calculators for these well-known vectors.
VECTORS = [
    ("AV:N/AC:L/Au:N/C:C/I:C/A:C", "2.0", 10.0, Severity.HIGH),  # v2 has no "critical"
    ("AV:N/AC:M/Au:N/C:P/I:N/A:N", "2.0", 4.3, Severity.MEDIUM),
    ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", "3.1", 10.0, Severity.CRITICAL),  # Log4Shell
    ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H", "3.1", 7.4, Severity.HIGH),
    ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:L/I:N/A:N", "3.0", 3.3, Severity.LOW),
    ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "4.0", 9.3, Severity.CRITICAL),
    ("CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:N/VI:N/VA:L/SC:N/SI:N/SA:N", "4.0", 4.8, Severity.MEDIUM),
]


@pytest.mark.parametrize(("vector", "version", "score", "severity"), VECTORS, ids=[v[0] for v in VECTORS])
def test_vectors_are_scored(vector: str, version: str, score: float, severity: Severity) -> None:
    scored = score_vector(vector)
    assert (scored.version, scored.base_score, scored.severity) == (version, score, severity)


@pytest.mark.parametrize("vector", ["", "CVSS:3.1/AV:X", "CVSS:9.9/AV:N", "AV:N/AC:L", "garbage"])
def test_bad_vectors_raise_a_format_error(vector: str) -> None:
    with pytest.raises(AdvisoryFormatError):
        score_vector(vector)


def test_precedence_ghsa_over_vectors() -> None:
    verdict = compute_severity(ghsa=Severity.MEDIUM, vectors=[VECTORS[2][0]])
    assert (verdict.severity, verdict.source, verdict.score) == (Severity.MEDIUM, "ghsa", 10.0)


def test_precedence_v4_over_v31_over_v2() -> None:
    verdict = compute_severity(vectors=[VECTORS[0][0], VECTORS[3][0], VECTORS[6][0]])
    assert (verdict.severity, verdict.source) == (Severity.MEDIUM, "cvss:4.0")
    verdict = compute_severity(vectors=[VECTORS[0][0], VECTORS[3][0]])
    assert (verdict.severity, verdict.source) == (Severity.HIGH, "cvss:3.1")


def test_unscorable_vectors_fall_through_to_bare_scores_then_distro() -> None:
    assert compute_severity(vectors=["garbage"], bare_scores=[(9.1, "3.0")]).source == "score:3"
    verdict = compute_severity(distro=[Severity.LOW, Severity.HIGH])
    assert (verdict.severity, verdict.source) == (Severity.HIGH, "distro")
    assert compute_severity().severity is Severity.UNKNOWN


def test_distro_rating_wins_for_distro_packages_only() -> None:
    advisory = Advisory(id="CVE-1", severity=Severity.CRITICAL)
    debian = Affected(ecosystem="Debian:12", name="openssl", severity=Severity.LOW)
    pypi = Affected(ecosystem="PyPI", name="x", severity=Severity.LOW)
    unrated = Affected(ecosystem="Debian:12", name="zlib")
    assert severity_for(advisory, debian) is Severity.LOW
    assert severity_for(advisory, pypi) is Severity.CRITICAL
    assert severity_for(advisory, unrated) is Severity.CRITICAL


@given(a=st.floats(0, 10), b=st.floats(0, 10), version=st.sampled_from(["2.0", "3.0", "3.1", "4.0"]))
def test_bands_are_monotonic(a: float, b: float, version: str) -> None:
    if a <= b:
        assert severity_from_score(a, version) <= severity_from_score(b, version)


def test_severity_order_reads_naturally() -> None:
    assert Severity.CRITICAL > Severity.HIGH > Severity.MEDIUM > Severity.LOW > Severity.NEGLIGIBLE > Severity.UNKNOWN
