from __future__ import annotations

from datetime import UTC, datetime

from wharfinger.vulndb.feeds.epss import EpssScore
from wharfinger.vulndb.feeds.kev import KevEntry
from wharfinger.vulndb.merge import merge_advisories
from wharfinger.vulndb.model import Advisory, Affected, Severity

T1 = datetime(2024, 1, 1, tzinfo=UTC)
T2 = datetime(2024, 6, 1, tzinfo=UTC)


def rec(vuln_id: str, *aliases: str, source: str, **kw: object) -> Advisory:
    return Advisory(id=vuln_id, aliases=aliases, sources=(source,), **kw)  # type: ignore[arg-type]


def test_aliases_join_transitively_under_the_cve() -> None:
    merged = merge_advisories(
        [
            rec("GHSA-aaaa", "CVE-2024-1", source="ghsa", severity=Severity.HIGH, severity_source="ghsa"),
            rec("PYSEC-2024-9", "GHSA-aaaa", source="osv:PyPI", affected=(Affected(ecosystem="PyPI", name="x"),)),
            rec("CVE-2024-1", source="debian-dsa", affected=(Affected(ecosystem="Debian:12", name="x"),)),
            rec("CVE-2024-2", source="debian-dsa"),
        ]
    )
    assert [a.id for a in merged] == ["CVE-2024-1", "CVE-2024-2"]
    first = merged[0]
    assert first.aliases == ("GHSA-aaaa", "PYSEC-2024-9")
    assert first.sources == ("debian-dsa", "ghsa", "osv:PyPI")
    assert {a.ecosystem for a in first.affected} == {"PyPI", "Debian:12"}
    assert (first.severity, first.severity_source) == (Severity.HIGH, "ghsa")


def test_two_cves_are_never_fused_by_a_bad_alias_list() -> None:
    merged = merge_advisories(
        [
            rec("CVE-2024-1", source="a"),
            rec("CVE-2024-2", source="a"),
            rec("GHSA-bbbb", "CVE-2024-1", "CVE-2024-2", source="ghsa"),
        ]
    )
    assert sorted(a.id for a in merged) == ["CVE-2024-1", "CVE-2024-2"]
    one = next(a for a in merged if a.id == "CVE-2024-1")
    two = next(a for a in merged if a.id == "CVE-2024-2")
    assert "GHSA-bbbb" in one.aliases
    assert "GHSA-bbbb" in two.related


def test_withdrawn_sources_contribute_no_packages() -> None:
    pkg = Affected(ecosystem="npm", name="x")
    merged = merge_advisories(
        [
            rec("GHSA-cccc", "CVE-2024-3", source="ghsa", withdrawn=T2, affected=(pkg,)),
            rec("CVE-2024-3", source="debian-dsa", affected=(Affected(ecosystem="Debian:12", name="x"),)),
            rec("GHSA-dddd", source="ghsa", withdrawn=T2, affected=(pkg,)),
        ]
    )
    live = next(a for a in merged if a.id == "CVE-2024-3")
    assert [a.ecosystem for a in live.affected] == ["Debian:12"]
    assert live.withdrawn is None
    gone = next(a for a in merged if a.id == "GHSA-dddd")
    assert (gone.withdrawn, gone.affected) == (T2, ())


def test_kev_epss_and_dates_attach_by_cve() -> None:
    merged = merge_advisories(
        [
            rec("GHSA-eeee", "CVE-2021-44228", source="ghsa", published=T2, modified=T2),
            rec("CVE-2021-44228", source="debian-dsa", published=T1, modified=T1),
        ],
        kev={"CVE-2021-44228": KevEntry(cve="CVE-2021-44228")},
        epss={"CVE-2021-44228": EpssScore(cve="CVE-2021-44228", epss=0.97, percentile=0.999)},
    )
    (one,) = merged
    assert one.kev
    assert one.epss == 0.97
    assert (one.published, one.modified) == (T1, T2)


def test_distro_ratings_only_rate_when_nothing_else_does() -> None:
    rated = Affected(ecosystem="Azure Linux:3", name="x", severity=Severity.MEDIUM)
    (one,) = merge_advisories([rec("CVE-2024-5", source="azurelinux-oval", affected=(rated,))])
    assert (one.severity, one.severity_source) == (Severity.MEDIUM, "distro")
    (two,) = merge_advisories(
        [
            rec("CVE-2024-5", source="azurelinux-oval", affected=(rated,)),
            rec(
                "GHSA-ffff", "CVE-2024-5", source="ghsa", cvss_vectors=("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",)
            ),
        ]
    )
    assert (two.severity, two.severity_source, two.cvss_score) == (Severity.CRITICAL, "cvss:3.1", 9.8)
