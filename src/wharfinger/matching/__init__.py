"""Matching: packages x advisories → findings, each with the reason it matched (pure).

    >>> from wharfinger.matching import MemorySource, match_packages
    >>> result = match_packages(packages, MemorySource(advisories))     # doctest: +SKIP
    >>> for finding in result.findings: print(finding.explanation)       # doctest: +SKIP

``AdvisorySource`` is the port vulndb's ``VulnDatabase`` and ``AdvisoryIndex`` implement;
``MemorySource`` adapts advisories already in memory. Packages that cannot be matched come
back in ``MatchResult.skipped`` with the reason, never silently dropped.
"""

from __future__ import annotations

from wharfinger.matching.ecosystem import Lookup, distro_from_purl, lookup_for, normalize_name
from wharfinger.matching.finding import Finding, MatchProblem, MatchResult, SkippedPackage
from wharfinger.matching.matcher import Matcher, match_packages
from wharfinger.matching.ranges import evaluate
from wharfinger.matching.source import AdvisorySource, MemorySource

__all__ = [
    "AdvisorySource",
    "Finding",
    "Lookup",
    "MatchProblem",
    "MatchResult",
    "Matcher",
    "MemorySource",
    "SkippedPackage",
    "distro_from_purl",
    "evaluate",
    "lookup_for",
    "match_packages",
    "normalize_name",
]
