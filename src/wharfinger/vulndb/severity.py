"""The one place where severity is computed.

Precedence (documented in ``docs/vulndb.md``), first that is known wins:

1. for a distribution package, the distribution's own rating of that package
   (``Affected.severity``: Debian urgency, Ubuntu priority, Azure Linux OVAL severity …);
   see ``severity_for``;
2. the GitHub Advisory Database's ``database_specific.severity`` (a reviewed rating);
3. CVSS vectors, scored with the ``cvss`` library, preferring v4.0 > v3.1 > v3.0 > v2;
4. a bare CVSS base score some feeds carry without a vector (RubySec ``cvss_v3``);
5. for an advisory only distributions rate, the highest distribution rating.

CVSS bands follow the FIRST specifications: v3/v4 0.0 none, 0.1-3.9 low, 4.0-6.9 medium,
7.0-8.9 high, 9.0-10.0 critical; v2 (NVD) 0-3.9 low, 4.0-6.9 medium, 7.0-10.0 high.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cvss import CVSS2, CVSS3, CVSS4, CVSSError

from wharfinger.errors import AdvisoryFormatError
from wharfinger.vulndb.ecosystems import is_distro
from wharfinger.vulndb.model import Advisory, Affected, Severity

__all__ = [
    "CvssScore",
    "SeverityVerdict",
    "compute_severity",
    "score_vector",
    "severity_for",
    "severity_from_score",
]

_VERSION_RANK = {"4.0": 4, "3.1": 3, "3.0": 2, "2.0": 1}


@dataclass(frozen=True, slots=True, kw_only=True)
class CvssScore:
    version: str  # "2.0", "3.0", "3.1", "4.0"
    vector: str
    base_score: float
    severity: Severity


@dataclass(frozen=True, slots=True, kw_only=True)
class SeverityVerdict:
    severity: Severity
    source: str  # "ghsa", "cvss:3.1", "score:3", "distro", "" when unknown
    score: float | None = None  # the CVSS base score, when one is known


def cvss_version(vector: str) -> str:
    """The CVSS version a vector is written in; v2 vectors carry no prefix."""
    text = vector.strip()
    if text.startswith("CVSS:"):
        return text[5:].split("/", 1)[0]
    return "2.0"


def severity_from_score(score: float, version: str) -> Severity:
    bands: tuple[tuple[float, Severity], ...]
    if version == "2.0":
        bands = ((7.0, Severity.HIGH), (4.0, Severity.MEDIUM), (0.0, Severity.LOW))
    else:
        if score == 0.0:
            return Severity.NEGLIGIBLE
        bands = ((9.0, Severity.CRITICAL), (7.0, Severity.HIGH), (4.0, Severity.MEDIUM), (0.0, Severity.LOW))
    return next(severity for floor, severity in bands if score >= floor)


def score_vector(vector: str) -> CvssScore:
    """Parse and score one CVSS vector; raises ``AdvisoryFormatError`` when it does not parse."""
    version = cvss_version(vector)
    try:
        if version == "2.0":
            base = float(CVSS2(vector.strip()).scores()[0])
        elif version in {"3.0", "3.1"}:
            base = float(CVSS3(vector.strip()).scores()[0])
        elif version == "4.0":
            base = float(CVSS4(vector.strip()).base_score)
        else:
            raise AdvisoryFormatError(f"unknown CVSS version {version!r} in {vector!r}")
    except (CVSSError, ValueError, KeyError, IndexError) as exc:
        raise AdvisoryFormatError(f"CVSS vector {vector!r} does not parse: {exc}") from exc
    return CvssScore(version=version, vector=vector, base_score=base, severity=severity_from_score(base, version))


def best_cvss(vectors: Iterable[str]) -> CvssScore | None:
    """The preferred vector's score (v4.0 > v3.1 > v3.0 > v2; highest score within a version)."""
    best: CvssScore | None = None
    for vector in vectors:
        try:
            scored = score_vector(vector)
        except AdvisoryFormatError:
            continue  # an unscorable vector is not a severity; the others may be
        rank = (_VERSION_RANK.get(scored.version, 0), scored.base_score)
        if best is None or rank > (_VERSION_RANK.get(best.version, 0), best.base_score):
            best = scored
    return best


def compute_severity(
    *,
    ghsa: Severity | None = None,
    vectors: Iterable[str] = (),
    bare_scores: Iterable[tuple[float, str]] = (),
    distro: Iterable[Severity] = (),
) -> SeverityVerdict:
    """Apply the precedence (steps 2-5 of the module docstring) to what the sources say."""
    cvss = best_cvss(vectors)
    if ghsa is not None and ghsa is not Severity.UNKNOWN:
        return SeverityVerdict(severity=ghsa, source="ghsa", score=cvss.base_score if cvss else None)
    if cvss is not None:
        return SeverityVerdict(severity=cvss.severity, source=f"cvss:{cvss.version}", score=cvss.base_score)
    scores = sorted(bare_scores, key=lambda pair: (_VERSION_RANK.get(pair[1], 0), pair[0]), reverse=True)
    if scores:
        score, version = scores[0]
        return SeverityVerdict(
            severity=severity_from_score(score, version), source=f"score:{version.split('.')[0]}", score=score
        )
    known = [s for s in distro if s is not Severity.UNKNOWN]
    if known:
        return SeverityVerdict(severity=max(known), source="distro")
    return SeverityVerdict(severity=Severity.UNKNOWN, source="")


def severity_for(advisory: Advisory, affected: Affected) -> Severity:
    """The severity of ``advisory`` for the package ``affected`` describes (step 1, then the advisory's)."""
    if is_distro(affected.ecosystem) and affected.severity is not None and affected.severity is not Severity.UNKNOWN:
        return affected.severity
    return advisory.severity
