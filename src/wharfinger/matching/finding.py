"""What matching returns: findings with their explanation, and what could not be matched."""

from __future__ import annotations

from dataclasses import dataclass

from wharfinger.inventory.package import Package
from wharfinger.vulndb.model import Advisory, FixState, Severity

__all__ = ["Finding", "MatchProblem", "MatchResult", "SkippedPackage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One vulnerability in one installed package, and why we say so."""

    package: Package
    advisory_id: str
    aliases: tuple[str, ...]
    severity: Severity
    installed_version: str  # the version that was compared (the source version for distro packages)
    fixed_versions: tuple[str, ...]
    fix_state: FixState
    layer_digest: str | None  # the layer that introduced the package
    ecosystem: str  # the OSV ecosystem the advisory was found under, e.g. "Debian:12"
    matched_name: str  # the name looked up (the source package for distro packages)
    explanation: str  # which advisory, which range event, why it matched
    advisory: Advisory

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.advisory_id, *self.aliases)

    @property
    def has_fix(self) -> bool:
        return self.fix_state is FixState.FIXED

    @property
    def kev(self) -> bool:
        return self.advisory.kev


@dataclass(frozen=True, slots=True, kw_only=True)
class SkippedPackage:
    """A package that could not be matched at all (a value, never silence)."""

    package: Package
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchProblem:
    """An advisory that could not be evaluated for a package (e.g. an unparsable event)."""

    package: Package
    advisory_id: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MatchResult:
    findings: tuple[Finding, ...]
    skipped: tuple[SkippedPackage, ...] = ()
    problems: tuple[MatchProblem, ...] = ()
    ignored_ranges: tuple[str, ...] = ()  # distinct reasons, e.g. GIT ranges ("<id>: GIT range … ignored")
    packages_matched: int = 0  # packages that were looked up (whether or not anything was found)

    @property
    def packages_total(self) -> int:
        return self.packages_matched + len(self.skipped)
