"""match_packages over real advisories: the shared OSV records (PyPI, npm GHSA, Go), Alpine's
secdb and Debian's DSA list, with packages spelled as syft/trivy write them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from osv_records import alpine_secdb, debian_dsa, load, records, to_advisory

from wharfinger.inventory.catalogers.identifiers import os_package_cpes
from wharfinger.inventory.package import Distro, Package, PackageType
from wharfinger.matching import Matcher, MemorySource, match_packages
from wharfinger.vulndb.model import (
    Advisory,
    Affected,
    Event,
    EventKind,
    FixState,
    Range,
    RangeType,
    Severity,
)


@pytest.fixture(scope="module")
def language_index(shared_dir: Path) -> MemorySource:
    advisories = [to_advisory(data) for _, data in records(shared_dir / "vulndata" / "ghsa")]
    for package in ("django", "jinja2", "requests"):
        advisories += [to_advisory(d) for _, d in records(shared_dir / "vulndata" / "pypa" / "vulns" / package)]
    golang = shared_dir / "vulndata" / "golang" / "data" / "osv"
    advisories += [to_advisory(load(golang / f"GO-2021-{n:04d}.json")) for n in (67, 69)]
    return MemorySource(advisories)


@pytest.fixture(scope="module")
def distro_index(shared_dir: Path) -> MemorySource:
    secdb = shared_dir / "vulndata" / "alpine-secdb"
    advisories = alpine_secdb(secdb / "v3.11" / "main.yaml") + alpine_secdb(secdb / "v3.10" / "main.yaml")
    dsa = shared_dir / "vulndata" / "debian-tracker" / "data" / "DSA" / "list"
    advisories += debian_dsa(dsa, {"bullseye": "11", "buster": "10"})
    return MemorySource(advisories)


def pypi(name: str, version: str, layer: str | None = "sha256:" + "a" * 64) -> Package:
    return Package(
        name=name, version=version, type=PackageType.PYPI, purl=f"pkg:pypi/{name.lower()}@{version}", layer_digest=layer
    )


def npm(name: str, version: str) -> Package:
    return Package(name=name, version=version, type=PackageType.NPM, purl=f"pkg:npm/{name}@{version}")


def deb(name: str, version: str, source: str, distro: str) -> Package:
    return Package(
        name=name,
        version=version,
        type=PackageType.DEB,
        purl=f"pkg:deb/debian/{name}@{version}?arch=amd64&upstream={source}&distro={distro}",
        source_name=source,
    )


def apk(name: str, version: str, origin: str, distro: str) -> Package:
    return Package(
        name=name,
        version=version,
        type=PackageType.APK,
        purl=f"pkg:apk/alpine/{name}@{version}?arch=x86_64&upstream={origin}&distro={distro}",
        source_name=origin,
    )


def ids(result_findings: Sequence[object]) -> set[str]:
    return {f.advisory_id for f in result_findings}  # type: ignore[attr-defined]


def test_pypi_package_matches_its_range_with_fix_and_explanation(language_index: MemorySource) -> None:
    result = match_packages([pypi("Django", "3.2.18")], language_index)
    finding = next(f for f in result.findings if f.advisory_id == "PYSEC-2023-61")
    assert finding.fix_state is FixState.FIXED
    assert "3.2.19" in finding.fixed_versions
    assert finding.installed_version == "3.2.18"
    assert finding.layer_digest == "sha256:" + "a" * 64
    assert "introduced 3.2" in finding.explanation
    assert "fixed 3.2.19" in finding.explanation
    assert "sha256:" + "a" * 64 in finding.explanation
    assert "CVE-2023-31047" in finding.aliases
    fixed = match_packages([pypi("django", "3.2.19")], language_index)
    assert "PYSEC-2023-61" not in ids(fixed.findings)


def test_pypi_names_are_normalised(language_index: MemorySource) -> None:
    upper = match_packages([pypi("Jinja2", "2.10")], language_index)
    lower = match_packages([pypi("jinja2", "2.10")], language_index)
    assert ids(upper.findings) == ids(lower.findings) != set()


def test_npm_semver_ranges_from_ghsa(language_index: MemorySource) -> None:
    vulnerable = match_packages([npm("lodash", "4.17.11")], language_index)
    assert {"GHSA-jf85-cpcp-j695", "GHSA-35jh-r3h4-6jhm"} <= ids(vulnerable.findings)
    between = match_packages([npm("lodash", "4.17.15")], language_index)  # jf85 was fixed in 4.17.12
    assert ids(between.findings) == {"GHSA-35jh-r3h4-6jhm"}
    patched = match_packages([npm("lodash", "4.17.21")], language_index)
    assert ids(patched.findings) == set()
    assert patched.packages_matched == 1


def test_go_stdlib_and_modules(language_index: MemorySource) -> None:
    stdlib = Package(name="stdlib", version="go1.16.0", type=PackageType.GOLANG, purl="pkg:golang/stdlib@go1.16.0")
    assert "GO-2021-0067" in ids(match_packages([stdlib], language_index).findings)
    fixed = Package(name="stdlib", version="go1.16.1", type=PackageType.GOLANG, purl="pkg:golang/stdlib@go1.16.1")
    assert "GO-2021-0067" not in ids(match_packages([fixed], language_index).findings)
    binary = Package(name="stdlib", version="v1.16.0", type=PackageType.BINARY, purl="pkg:golang/stdlib@v1.16.0")
    assert "GO-2021-0067" in ids(match_packages([binary], language_index).findings)


def test_alpine_matches_by_origin_and_release(distro_index: MemorySource) -> None:
    libcrypto = apk("libcrypto1.1", "1.1.1d-r2", "openssl", "alpine-3.11.6")
    result = match_packages([libcrypto], distro_index)
    finding = next(f for f in result.findings if f.advisory_id == "CVE-2019-1551")
    assert finding.ecosystem == "Alpine:v3.11"
    assert finding.matched_name == "openssl"
    assert finding.fixed_versions == ("1.1.1d-r3",)
    assert "built from source package openssl" in finding.explanation
    patched = apk("libcrypto1.1", "1.1.1d-r3", "openssl", "alpine-3.11.6")
    assert "CVE-2019-1551" not in ids(match_packages([patched], distro_index).findings)


def test_debian_release_is_part_of_the_match(distro_index: MemorySource) -> None:
    bullseye = deb("libssl1.1", "1.1.1n-0+deb11u3", "openssl", "debian-11")
    found = match_packages([bullseye], distro_index)
    assert "DSA-5343-1" in ids(found.findings)
    assert all(f.ecosystem == "Debian:11" for f in found.findings)
    bookworm = deb("libssl1.1", "1.1.1n-0+deb11u3", "openssl", "debian-12")
    assert match_packages([bookworm], distro_index).findings == ()
    buster = deb("libssl1.1", "1.1.1n-0+deb10u3", "openssl", "debian-10")
    assert all(f.ecosystem == "Debian:10" for f in match_packages([buster], distro_index).findings)


def test_cpes_of_os_packages_do_not_change_matching(distro_index: MemorySource) -> None:
    """Matching goes by purl and ecosystem: the CPEs the OS catalogers guess add and remove nothing."""
    packages = [
        deb("libssl1.1", "1.1.1n-0+deb11u3", "openssl", "debian-11"),
        apk("libcrypto1.1", "1.1.1d-r2", "openssl", "alpine-3.11.6"),
    ]
    with_cpes = [replace(p, cpes=os_package_cpes(p.name, p.version, source_name=p.source_name)) for p in packages]
    assert all(p.cpes for p in with_cpes)

    def summary(found: Sequence[object]) -> list[tuple[object, ...]]:
        return sorted(
            (f.advisory_id, f.ecosystem, f.matched_name, f.fixed_versions)  # type: ignore[attr-defined]
            for f in found
        )

    before, after = match_packages(packages, distro_index), match_packages(with_cpes, distro_index)
    assert summary(before.findings)
    assert summary(after.findings) == summary(before.findings)
    assert len(after.skipped) == len(before.skipped)


def test_distro_from_the_image_when_the_purl_has_none(distro_index: MemorySource) -> None:
    package = Package(
        name="libssl1.1",
        version="1.1.1n-0+deb11u3",
        type=PackageType.DEB,
        purl="pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u3",
        source_name="openssl",
    )
    assert match_packages([package], distro_index).findings == ()
    assert match_packages([package], distro_index).skipped[0].reason.startswith("an OS package without")
    with_distro = match_packages([package], distro_index, distro=Distro(id="debian", version_id="11"))
    assert "DSA-5343-1" in ids(with_distro.findings)


def test_source_version_is_compared_for_binnmus(distro_index: MemorySource) -> None:
    package = Package(
        name="libssl1.1",
        version="1.1.1n-0+deb11u3+b1",
        source_version="1.1.1n-0+deb11u3",
        type=PackageType.DEB,
        purl="pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u3+b1?distro=debian-11",
        source_name="openssl",
    )
    finding = next(f for f in match_packages([package], distro_index).findings if f.advisory_id == "DSA-5343-1")
    assert finding.installed_version == "1.1.1n-0+deb11u3"


def _advisory(affected: Affected, **extra: object) -> Advisory:
    return Advisory(id="CVE-2099-0001", affected=(affected,), severity=Severity.HIGH, **extra)  # type: ignore[arg-type]


OPEN = (Range(type=RangeType.ECOSYSTEM, events=(Event(kind=EventKind.INTRODUCED, value="0"),)),)


@pytest.mark.parametrize("state", [FixState.WONT_FIX, FixState.END_OF_LIFE, FixState.NOT_FIXED])
def test_fix_states_from_the_distribution(state: FixState) -> None:
    affected = Affected(ecosystem="Debian:12", name="openssl", ranges=OPEN, fix_state=state, severity=Severity.LOW)
    package = deb("libssl3", "3.0.11-1~deb12u2", "openssl", "debian-12")
    (finding,) = match_packages([package], MemorySource([_advisory(affected)])).findings
    assert finding.fix_state is state
    assert finding.fixed_versions == ()
    assert finding.severity is Severity.LOW  # the distribution's own rating wins for its package


def test_no_ranges_with_an_unfixed_statement_affects_every_version() -> None:
    affected = Affected(ecosystem="Debian:12", name="openssl", fix_state=FixState.WONT_FIX)
    package = deb("libssl3", "3.0.11-1~deb12u2", "openssl", "debian-12")
    (finding,) = match_packages([package], MemorySource([_advisory(affected)])).findings
    assert finding.fix_state is FixState.WONT_FIX
    assert "every version" in finding.explanation


def test_skipped_packages_are_counted_with_reasons() -> None:
    packages = [
        pypi("django", "not a version"),
        Package(name="node", version="20.1.0", type=PackageType.BINARY, purl="pkg:generic/node@20.1.0"),
        deb("libc6", "2.36-9", "glibc", "plan9-4"),
    ]
    result = match_packages(packages, MemorySource([]))
    assert len(result.skipped) == 3
    reasons = [s.reason for s in result.skipped]
    assert "not a version" in reasons[0]
    assert "binary" in reasons[1]
    assert "plan9" in reasons[2]
    assert result.packages_total == 3


def test_unparsable_event_is_a_problem_not_a_match() -> None:
    bad = Range(
        type=RangeType.ECOSYSTEM,
        events=(Event(kind=EventKind.INTRODUCED, value="0"), Event(kind=EventKind.FIXED, value="not-a-version!")),
    )
    advisory = _advisory(Affected(ecosystem="PyPI", name="django", ranges=(bad,)))
    result = match_packages([pypi("django", "3.2")], MemorySource([advisory]))
    assert result.findings == ()
    assert "not-a-version!" in result.problems[0].reason


def test_git_ranges_are_ignored_with_a_reason(language_index: MemorySource) -> None:
    result = match_packages([pypi("requests", "2.0.0")], language_index)
    assert any("GIT range" in reason for reason in result.ignored_ranges)


def test_withdrawn_advisories_never_match() -> None:
    affected = Affected(ecosystem="PyPI", name="django", ranges=OPEN)
    withdrawn = _advisory(affected, withdrawn=datetime(2024, 1, 1, tzinfo=UTC))
    assert match_packages([pypi("django", "3.2")], MemorySource([withdrawn])).findings == ()


@pytest.mark.parametrize(
    ("events", "version", "affected"),
    [
        ((("introduced", "1.0"), ("last_affected", "1.4")), "1.4", True),
        ((("introduced", "1.0"), ("last_affected", "1.4")), "1.4.1", False),
        ((("introduced", "1.0"), ("limit", "1.3")), "1.3", False),
        ((("introduced", "1.0"), ("limit", "1.3")), "1.2", True),
        ((("introduced", "1.0"), ("fixed", "1.1"), ("introduced", "2.0")), "1.5", False),
        ((("introduced", "1.0"), ("fixed", "1.1"), ("introduced", "2.0")), "2.5", True),
        ((("introduced", "0"),), "0.0.1", True),
        ((("fixed", "1.0"), ("introduced", "0")), "0.9", True),  # events need not be in order
    ],
)
def test_osv_event_semantics(events: tuple[tuple[str, str], ...], version: str, affected: bool) -> None:
    rng = Range(type=RangeType.ECOSYSTEM, events=tuple(Event(kind=EventKind(k), value=v) for k, v in events))
    advisory = _advisory(Affected(ecosystem="PyPI", name="pkg", ranges=(rng,)))
    result = match_packages([pypi("pkg", version)], MemorySource([advisory]))
    assert bool(result.findings) is affected


def test_callable_source_and_matcher_cache() -> None:
    calls: list[tuple[str, str]] = []
    advisory = _advisory(Affected(ecosystem="PyPI", name="django", ranges=OPEN))

    def lookup(ecosystem: str, name: str) -> list[Advisory]:
        calls.append((ecosystem, name))
        return [advisory] if name == "django" else []

    matcher = Matcher(lookup)
    first = matcher.match([pypi("django", "3.2", layer="sha256:" + "1" * 64)])
    second = matcher.match([pypi("Django", "3.2", layer="sha256:" + "2" * 64)])
    assert calls == [("PyPI", "django")]  # the second image reused the verdict
    assert first.findings[0].layer_digest != second.findings[0].layer_digest


def test_matches_shares_advisory_matches_across_images(language_index: MemorySource) -> None:
    matcher = Matcher(language_index)
    first = matcher.matches([npm("lodash", "4.17.11"), npm("left-pad", "1.0.0")])
    second = matcher.matches([npm("lodash", "4.17.11")])
    assert [p.name for p, _ in first] == ["lodash"]  # left-pad has no advisory here
    assert first[0][1] is second[0][1]  # one evaluation, shared by both images
    assert {m.advisory.id for m in first[0][1]} >= {"GHSA-jf85-cpcp-j695", "GHSA-35jh-r3h4-6jhm"}
