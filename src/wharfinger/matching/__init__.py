"""Matching: packages x advisories → findings, each with the reason it matched (pure).

    >>> from wharfinger.matching import AdvisoryIndex, match_packages
    >>> result = match_packages(packages, AdvisoryIndex(advisories))     # doctest: +SKIP
    >>> for finding in result.findings: print(finding.explanation)       # doctest: +SKIP

``AdvisorySource`` is the port vulndb's database implements; ``AdvisoryIndex`` is the
in-memory adapter. Packages that cannot be matched come back in ``MatchResult.skipped`` with
the reason, never silently dropped.
"""

from __future__ import annotations

from wharfinger.matching.ecosystem import Lookup, distro_from_purl, lookup_for, normalize_name
from wharfinger.matching.finding import Finding, MatchProblem, MatchResult, SkippedPackage
from wharfinger.matching.matcher import Matcher, match_packages
from wharfinger.matching.ranges import evaluate
from wharfinger.matching.source import AdvisoryIndex, AdvisorySource

__all__ = [
    "AdvisoryIndex",
    "AdvisorySource",
    "Finding",
    "Lookup",
    "MatchProblem",
    "MatchResult",
    "Matcher",
    "SkippedPackage",
    "distro_from_purl",
    "evaluate",
    "lookup_for",
    "match_packages",
    "normalize_name",
]
