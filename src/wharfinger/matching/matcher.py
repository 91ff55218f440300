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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from wharfinger.errors import VersionError
from wharfinger.inventory.package import Distro, Package
from wharfinger.matching.ecosystem import Lookup, UnmatchableError, lookup_for
from wharfinger.matching.finding import AdvisoryMatch, Finding, MatchProblem, MatchResult, SkippedPackage
from wharfinger.matching.ranges import RangeHit, evaluate
from wharfinger.matching.source import AdvisorySource, BatchAdvisorySource, as_source
from wharfinger.versions import scheme_for
from wharfinger.vulndb.ecosystems import ecosystem_key, name_key
from wharfinger.vulndb.model import Advisory, Affected, FixState

__all__ = ["Matcher", "match_packages"]

_UNFIXED_STATES = (FixState.NOT_FIXED, FixState.WONT_FIX, FixState.END_OF_LIFE)


@dataclass(frozen=True, slots=True)
class _Verdict:
    matches: tuple[AdvisoryMatch, ...]
    problems: tuple[tuple[str, str], ...]  # (advisory id, reason)
    ignored: tuple[str, ...]
    skip_reason: str | None = None


def _advisory_match(
    advisory: Advisory, affected: Affected, hit: RangeHit | None, *, lookup: Lookup, ecosystem: str, name: str
) -> AdvisoryMatch:
    if hit is not None and hit.fixed:
        state, fixed = FixState.FIXED, hit.fixed
    elif affected.fix_state in _UNFIXED_STATES:
        state, fixed = affected.fix_state, ()
    else:
        state, fixed = FixState.NOT_FIXED, ()
    if hit is None:
        why = f"{ecosystem} marks every version of {name} as affected ({affected.fix_state.value})"
    else:
        why = hit.describe(lookup.version)
    fix = {
        FixState.FIXED: f"fixed in {', '.join(fixed)}",
        FixState.NOT_FIXED: "no fixed version yet",
        FixState.WONT_FIX: f"{ecosystem} will not fix it",
        FixState.END_OF_LIFE: f"{ecosystem} is end of life",
    }[state]
    return AdvisoryMatch(
        advisory=advisory,
        ecosystem=ecosystem,
        matched_name=name,
        installed_version=lookup.version,
        severity=affected.severity if affected.severity is not None else advisory.severity,
        fix_state=state,
        fixed_versions=fixed,
        why=f"{why}; {fix}",
    )


class Matcher:
    """Matches packages against one advisory source, remembering verdicts across calls."""

    __slots__ = ("_cache", "_distro", "_lookups", "_source")

    def __init__(
        self, source: AdvisorySource | Callable[[str, str], Iterable[Advisory]], *, distro: Distro | None = None
    ) -> None:
        self._source = as_source(source)
        self._distro = distro
        self._cache: dict[tuple[tuple[str, ...], tuple[str, ...], str], _Verdict] = {}
        # The same package (whatever image or layer it is in) maps to the same lookup.
        self._lookups: dict[tuple[object, ...], Lookup | str] = {}

    def _lookup(self, package: Package, distro: Distro | None) -> Lookup | str:
        """Where to look ``package`` up, or why it cannot be (cached: purl parsing is the hot part)."""
        key = (
            package.type,
            package.name,
            package.version,
            package.purl,
            package.source_name,
            package.source_version,
            package.metadata,
            distro,
        )
        found = self._lookups.get(key)
        if found is None:
            try:
                found = lookup_for(package, distro)
            except UnmatchableError as exc:
                found = str(exc)
            self._lookups[key] = found
        return found

    def _verdict(
        self, lookup: Lookup, prefetched: Mapping[tuple[str, str], Sequence[Advisory]] | None = None
    ) -> _Verdict:
        key = (lookup.ecosystems, lookup.names, lookup.version)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._evaluate(lookup, prefetched or {})
            self._cache[key] = cached
        return cached

    def _prefetch(self, lookups: Iterable[Lookup | str]) -> Mapping[tuple[str, str], Sequence[Advisory]]:
        """Fetch the candidates of every lookup not decided yet in one batch, when the source can."""
        if not isinstance(self._source, BatchAdvisorySource):
            return {}
        wanted = {
            (ecosystem, name): None
            for lookup in lookups
            if not isinstance(lookup, str) and (lookup.ecosystems, lookup.names, lookup.version) not in self._cache
            for ecosystem in lookup.ecosystems
            for name in lookup.names
        }
        return self._source.advisories_for_many(wanted) if wanted else {}

    def _evaluate(self, lookup: Lookup, prefetched: Mapping[tuple[str, str], Sequence[Advisory]]) -> _Verdict:
        try:
            scheme_for(lookup.ecosystems[0]).parse(lookup.version)
        except VersionError as exc:
            return _Verdict(matches=(), problems=(), ignored=(), skip_reason=exc.message)
        hits: list[AdvisoryMatch] = []
        problems: list[tuple[str, str]] = []
        ignored: list[str] = []
        seen: set[str] = set()
        for ecosystem in lookup.ecosystems:
            wanted_ecosystem = ecosystem_key(ecosystem)
            for name in lookup.names:
                candidates = prefetched.get((ecosystem, name))
                if candidates is None:
                    candidates = self._source.advisories_for(ecosystem, name)
                for advisory in candidates:
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
        return _Verdict(matches=tuple(hits), problems=tuple(problems), ignored=tuple(dict.fromkeys(ignored)))

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
    ) -> AdvisoryMatch | None:
        if not affected.ranges and not affected.versions:
            if affected.fix_state in _UNFIXED_STATES:
                return _advisory_match(advisory, affected, None, lookup=lookup, ecosystem=ecosystem, name=name)
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
        return _advisory_match(advisory, affected, evaluation.hit, lookup=lookup, ecosystem=ecosystem, name=name)

    def matches(
        self, packages: Iterable[Package], *, distro: Distro | None = None
    ) -> list[tuple[Package, tuple[AdvisoryMatch, ...]]]:
        """The lean form a fleet rescan stores: each vulnerable package with its (shared, cached)
        matches; packages without matches and unmatchable ones are left out."""
        wanted = distro or self._distro
        found = []
        for package in packages:
            lookup = self._lookup(package, wanted)
            if isinstance(lookup, str):
                continue
            verdict = self._verdict(lookup)
            if verdict.matches:
                found.append((package, verdict.matches))
        return found

    def match(self, packages: Iterable[Package], *, distro: Distro | None = None) -> MatchResult:
        findings: list[Finding] = []
        skipped: list[SkippedPackage] = []
        problems: list[MatchProblem] = []
        ignored: dict[str, None] = {}
        matched = 0
        wanted = distro or self._distro
        lookups = [(package, self._lookup(package, wanted)) for package in packages]
        prefetched = self._prefetch(lookup for _, lookup in lookups)
        for package, lookup in lookups:
            if isinstance(lookup, str):
                skipped.append(SkippedPackage(package=package, reason=lookup))
                continue
            verdict = self._verdict(lookup, prefetched)
            if verdict.skip_reason is not None:
                skipped.append(SkippedPackage(package=package, reason=verdict.skip_reason))
                continue
            matched += 1
            if verdict.ignored:
                ignored.update(dict.fromkeys(verdict.ignored))
            if verdict.problems:
                problems.extend(MatchProblem(package=package, advisory_id=a, reason=r) for a, r in verdict.problems)
            if verdict.matches:
                findings.extend(Finding(package=package, match=m) for m in verdict.matches)
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
