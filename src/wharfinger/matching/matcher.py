"""Packages x advisories → findings, each with its explanation.

The steps, for each package:

1. ``lookup_for`` decides the OSV ecosystem(s) and name(s) to look under (source package and
   distro release for OS packages) and the version to compare; a package that has none is
   *skipped*, with its reason.
2. The ``AdvisorySource`` returns candidate advisories; every ``affected[]`` entry for exactly
   that ecosystem and name is evaluated with OSV's range semantics (``ranges.evaluate``).
3. A hit becomes a ``Finding`` with the fix state (a fixed version above the installed one, or
   the distribution's statement: not fixed, will not fix, end of life) and an explanation.

A ``Matcher`` keeps the verdict per (ecosystems, names, version): the same package in many
images, or in 10,000 stored SBOMs after a database update, is evaluated once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from wharfinger.errors import VersionError
from wharfinger.inventory.package import Distro, Package
from wharfinger.matching.ecosystem import Lookup, UnmatchableError, lookup_for
from wharfinger.matching.finding import Finding, MatchProblem, MatchResult, SkippedPackage
from wharfinger.matching.ranges import RangeHit, evaluate
from wharfinger.matching.source import AdvisorySource, as_source
from wharfinger.versions import scheme_for
from wharfinger.vulndb.ecosystems import ecosystem_key, name_key
from wharfinger.vulndb.model import Advisory, Affected, FixState

__all__ = ["Matcher", "match_packages"]

_UNFIXED_STATES = (FixState.NOT_FIXED, FixState.WONT_FIX, FixState.END_OF_LIFE)


@dataclass(frozen=True, slots=True)
class _Hit:
    advisory: Advisory
    affected: Affected
    range_hit: RangeHit | None  # None: the distro says every version in the release is affected
    ecosystem: str
    name: str


@dataclass(frozen=True, slots=True)
class _Verdict:
    hits: tuple[_Hit, ...]
    problems: tuple[tuple[str, str], ...]  # (advisory id, reason)
    ignored: tuple[str, ...]
    skip_reason: str | None = None


def _fix_of(hit: _Hit) -> tuple[FixState, tuple[str, ...]]:
    if hit.range_hit is not None and hit.range_hit.fixed:
        return FixState.FIXED, hit.range_hit.fixed
    if hit.affected.fix_state in _UNFIXED_STATES:
        return hit.affected.fix_state, ()
    return FixState.NOT_FIXED, ()


def _explain(hit: _Hit, package: Package, lookup: Lookup, state: FixState, fixed: tuple[str, ...]) -> str:
    advisory = hit.advisory
    ids = advisory.id + (f" ({', '.join(advisory.aliases)})" if advisory.aliases else "")
    subject = f"{package.name} {package.version}"
    if lookup.via_source or hit.name != package.name:
        subject += f", built from source package {hit.name} {lookup.version},"
    if hit.range_hit is None:
        why = f"{hit.ecosystem} marks every version of {hit.name} as affected ({hit.affected.fix_state.value})"
    else:
        why = hit.range_hit.describe(lookup.version)
    fix = {
        FixState.FIXED: f"fixed in {', '.join(fixed)}",
        FixState.NOT_FIXED: "no fixed version yet",
        FixState.WONT_FIX: f"{hit.ecosystem} will not fix it",
        FixState.END_OF_LIFE: f"{hit.ecosystem} is end of life",
    }.get(state, "fix status unknown")
    layer = f"; introduced by layer {package.layer_digest}" if package.layer_digest else ""
    return f"{ids}: {subject} matches {hit.ecosystem} advisory for {hit.name}: {why}; {fix}{layer}"


class Matcher:
    """Matches packages against one advisory source, remembering verdicts across calls."""

    __slots__ = ("_cache", "_distro", "_source")

    def __init__(
        self, source: AdvisorySource | Callable[[str, str], Iterable[Advisory]], *, distro: Distro | None = None
    ) -> None:
        self._source = as_source(source)
        self._distro = distro
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...], str], _Verdict] = {}

    def _verdict(self, lookup: Lookup) -> _Verdict:
        key = (lookup.ecosystems, lookup.names, lookup.version)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._evaluate(lookup)
            self._cache[key] = cached
        return cached

    def _evaluate(self, lookup: Lookup) -> _Verdict:
        try:
            scheme_for(lookup.ecosystems[0]).parse(lookup.version)
        except VersionError as exc:
            return _Verdict(hits=(), problems=(), ignored=(), skip_reason=exc.message)
        hits: list[_Hit] = []
        problems: list[tuple[str, str]] = []
        ignored: list[str] = []
        seen: set[str] = set()
        for ecosystem in lookup.ecosystems:
            wanted_ecosystem = ecosystem_key(ecosystem)
            for name in lookup.names:
                for advisory in self._source.advisories_for(ecosystem, name):
                    if advisory.id in seen or advisory.withdrawn is not None:
                        continue
                    for affected in advisory.affected:
                        if (
                            ecosystem_key(affected.ecosystem) != wanted_ecosystem
                            or name_key(ecosystem, affected.name) != name
                        ):
                            continue
                        hit = self._evaluate_affected(
                            advisory,
                            affected=affected,
                            lookup=lookup,
                            ecosystem=ecosystem,
                            name=name,
                            problems=problems,
                            ignored=ignored,
                        )
                        if hit is not None:
                            hits.append(hit)
                            seen.add(advisory.id)
                            break
        return _Verdict(hits=tuple(hits), problems=tuple(problems), ignored=tuple(dict.fromkeys(ignored)))

    @staticmethod
    def _evaluate_affected(
        advisory: Advisory,
        *,
        affected: Affected,
        lookup: Lookup,
        ecosystem: str,
        name: str,
        problems: list[tuple[str, str]],
        ignored: list[str],
    ) -> _Hit | None:
        if not affected.ranges and not affected.versions:
            if affected.fix_state in _UNFIXED_STATES:
                return _Hit(advisory=advisory, affected=affected, range_hit=None, ecosystem=ecosystem, name=name)
            problems.append((advisory.id, f"{ecosystem} entry for {name} has neither ranges nor versions"))
            return None
        try:
            evaluation = evaluate(affected, lookup.version)
        except VersionError as exc:
            problems.append((advisory.id, f"cannot evaluate {ecosystem} {name} {lookup.version}: {exc.message}"))
            return None
        ignored.extend(f"{advisory.id}: {reason}" for reason in evaluation.ignored_ranges)
        if evaluation.hit is None:
            return None
        return _Hit(advisory=advisory, affected=affected, range_hit=evaluation.hit, ecosystem=ecosystem, name=name)

    def match(self, packages: Iterable[Package], *, distro: Distro | None = None) -> MatchResult:
        findings: list[Finding] = []
        skipped: list[SkippedPackage] = []
        problems: list[MatchProblem] = []
        ignored: dict[str, None] = {}
        matched = 0
        for package in packages:
            try:
                lookup = lookup_for(package, distro or self._distro)
            except UnmatchableError as exc:
                skipped.append(SkippedPackage(package=package, reason=str(exc)))
                continue
            verdict = self._verdict(lookup)
            if verdict.skip_reason is not None:
                skipped.append(SkippedPackage(package=package, reason=verdict.skip_reason))
                continue
            matched += 1
            ignored.update(dict.fromkeys(verdict.ignored))
            problems.extend(MatchProblem(package=package, advisory_id=a, reason=r) for a, r in verdict.problems)
            for hit in verdict.hits:
                state, fixed = _fix_of(hit)
                findings.append(
                    Finding(
                        package=package,
                        advisory_id=hit.advisory.id,
                        aliases=hit.advisory.aliases,
                        severity=hit.affected.severity if hit.affected.severity is not None else hit.advisory.severity,
                        installed_version=lookup.version,
                        fixed_versions=fixed,
                        fix_state=state,
                        layer_digest=package.layer_digest,
                        ecosystem=hit.ecosystem,
                        matched_name=hit.name,
                        explanation=_explain(hit, package, lookup, state, fixed),
                        advisory=hit.advisory,
                    )
                )
        return MatchResult(
            findings=tuple(findings),
            skipped=tuple(skipped),
            problems=tuple(problems),
            ignored_ranges=tuple(ignored),
            packages_matched=matched,
        )


def match_packages(
    packages: Iterable[Package],
    source: AdvisorySource | Callable[[str, str], Iterable[Advisory]],
    *,
    distro: Distro | None = None,
) -> MatchResult:
    """Match ``packages`` against ``source`` once; use a ``Matcher`` to match many package sets."""
    return Matcher(source, distro=distro).match(packages)
