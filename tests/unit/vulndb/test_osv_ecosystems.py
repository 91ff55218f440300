"""OSV records of every ecosystem family go through one parser; distro ratings land on the package.

The records are written here in the shapes the OSV exports use (Ubuntu's `severity[type=Ubuntu]`,
Debian's `ecosystem_specific.urgency`, Red Hat's long ecosystem names); the shared data has none.
"""

from __future__ import annotations

import json

import pytest

from wharfinger.vulndb.ecosystems import base_ecosystem, is_distro, is_known, name_key
from wharfinger.vulndb.ingest import ingest_files
from wharfinger.vulndb.model import FixState, Severity
from wharfinger.vulndb.severity import severity_for


def osv(vuln_id: str, ecosystem: str, name: str, **extra: object) -> tuple[str, bytes]:
    record = {
        "id": vuln_id,
        "modified": "2024-05-01T00:00:00Z",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2-3"}]}],
                **extra.pop("affected_extra", {}),  # type: ignore[dict-item]
            }
        ],
        **extra,
    }
    return f"{vuln_id}.json", json.dumps(record).encode()


@pytest.mark.parametrize(
    ("ecosystem", "distro"),
    [
        ("PyPI", False),
        ("npm", False),
        ("Go", False),
        ("Maven", False),
        ("RubyGems", False),
        ("crates.io", False),
        ("NuGet", False),
        ("Packagist", False),
        ("Debian:12", True),
        ("Ubuntu:22.04:LTS", True),
        ("Alpine:v3.19", True),
        ("Wolfi", True),
        ("Chainguard", True),
        ("Red Hat:enterprise_linux:9::appstream", True),
        ("Rocky Linux:9", True),
        ("AlmaLinux:9", True),
        ("SUSE:Linux Enterprise Server 15 SP5", True),
        ("openSUSE:Tumbleweed", True),
        ("Azure Linux:3", True),
        ("Mariner:2", True),
    ],
)
def test_every_osv_ecosystem_is_known(ecosystem: str, distro: bool) -> None:
    assert is_known(ecosystem)
    assert is_distro(ecosystem) is distro
    result = ingest_files([osv("X-1", ecosystem, "pkg")])
    assert not result.skipped
    assert not result.unknown_ecosystems
    (record,) = result.records
    assert record.affected[0].ecosystem == ecosystem
    assert record.affected[0].fix_state is FixState.FIXED
    assert record.sources == (f"osv:{base_ecosystem(ecosystem)}",)


def test_ubuntu_priority_is_the_packages_severity() -> None:
    result = ingest_files(
        [
            osv(
                "UBUNTU-CVE-2024-1",
                "Ubuntu:22.04:LTS",
                "openssl",
                severity=[
                    {"type": "Ubuntu", "score": "low"},
                    {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                ],
                upstream=["CVE-2024-1"],
            )
        ]
    )
    (record,) = result.records
    assert record.affected[0].severity is Severity.LOW
    assert record.related == ("CVE-2024-1",)
    assert record.cvss_vectors


def test_debian_urgency_is_the_packages_severity() -> None:
    (record,) = ingest_files(
        [osv("DEBIAN-CVE-2024-2", "Debian:12", "zlib", affected_extra={"ecosystem_specific": {"urgency": "medium**"}})]
    ).records
    assert record.affected[0].severity is Severity.MEDIUM
    assert severity_for(record, record.affected[0]) is Severity.MEDIUM


def test_a_language_package_ignores_distro_style_ratings() -> None:
    (record,) = ingest_files([osv("PYSEC-1", "PyPI", "x", severity=[{"type": "Ubuntu", "score": "high"}])]).records
    assert record.affected[0].severity is None


@pytest.mark.parametrize(
    ("ecosystem", "a", "b"),
    [("PyPI", "Django_REST.framework", "django-rest-framework"), ("NuGet", "Newtonsoft.Json", "newtonsoft.json")],
)
def test_names_compare_as_the_package_manager_does(ecosystem: str, a: str, b: str) -> None:
    assert name_key(ecosystem, a) == name_key(ecosystem, b)


def test_case_matters_where_the_ecosystem_says_so() -> None:
    assert name_key("npm", "Foo") != name_key("npm", "foo")
    assert name_key("Go", "github.com/A/b") != name_key("Go", "github.com/a/b")


def test_a_distro_records_own_rating_in_database_specific() -> None:
    (record,) = ingest_files(
        [
            osv(
                "RHSA-2024:0001",
                "Red Hat:enterprise_linux:9::appstream",
                "openssl",
                database_specific={"severity": "Important"},
            )
        ]
    ).records
    assert record.affected[0].severity is Severity.HIGH
    assert record.severity_source == ""  # not GitHub's rating
    (language,) = ingest_files([osv("PYSEC-2", "PyPI", "x", database_specific={"severity": "HIGH"})]).records
    assert language.affected[0].severity is None
