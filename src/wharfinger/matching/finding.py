"""What matching returns: findings with their explanation, and what could not be matched."""

from __future__ import annotations

from dataclasses import dataclass

from wharfinger.inventory.package import Package
from wharfinger.vulndb.model import Advisory, FixState, Severity

__all__ = ["AdvisoryMatch", "Finding", "MatchProblem", "MatchResult", "SkippedPackage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class AdvisoryMatch:
    """One advisory that matches one (ecosystem, name, version): shared by every package and
    image that has it, so a fleet rescan evaluates and allocates it once."""

    advisory: Advisory
    ecosystem: str  # the OSV ecosystem the advisory was found under, e.g. "Debian:12"
    matched_name: str  # the name looked up (the source package for distro packages)
    installed_version: str  # the version that was compared (the source version for distro packages)
    severity: Severity
    fix_state: FixState
    fixed_versions: tuple[str, ...]
    why: str  # which range event (or list, or distro statement) contains the version, and the fix


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One vulnerability in one installed package, and why we say so."""

    package: Package
    match: AdvisoryMatch

    @property
    def advisory(self) -> Advisory:
        return self.match.advisory

    @property
    def advisory_id(self) -> str:
        return self.match.advisory.id

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.match.advisory.aliases

    @property
    def severity(self) -> Severity:
        return self.match.severity

    @property
    def installed_version(self) -> str:
        return self.match.installed_version

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        return self.match.fixed_versions

    @property
    def fix_state(self) -> FixState:
        return self.match.fix_state

    @property
    def layer_digest(self) -> str | None:
        """The layer that introduced the package."""
        return self.package.layer_digest

    @property
    def ecosystem(self) -> str:
        return self.match.ecosystem

    @property
    def matched_name(self) -> str:
        return self.match.matched_name

    @property
    def explanation(self) -> str:
        """Which advisory, which package (and source package), which range event, the fix, the layer."""
        advisory, package, match = self.match.advisory, self.package, self.match
        ids = advisory.id + (f" ({', '.join(advisory.aliases)})" if advisory.aliases else "")
        subject = f"{package.name} {package.version}"
        if match.matched_name != package.name or match.installed_version != package.version:
            subject += f", built from source package {match.matched_name} {match.installed_version},"
        layer = f"; introduced by layer {package.layer_digest}" if package.layer_digest else ""
        return f"{ids}: {subject} matches {match.ecosystem} advisory for {match.matched_name}: {match.why}{layer}"

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
