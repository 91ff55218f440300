"""Every feed parser against the real records in ../shared/vulndata, read in place.

Expectations come from reading the raw files independently (json/yaml/tarfile here), not from the parsers.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
import yaml

from wharfinger.vulndb.ingest import ingest_files
from wharfinger.vulndb.inputs import iter_feed_files
from wharfinger.vulndb.model import Advisory, EventKind, FixState, RangeType, Severity


def events(advisory: Advisory, ecosystem: str, name: str) -> list[tuple[str, str]]:
    found = [a for a in advisory.affected if a.ecosystem == ecosystem and a.name == name]
    assert found, f"{advisory.id} has no {ecosystem}/{name}"
    return [(e.kind.value, e.value) for r in found[0].ranges for e in r.events]


def by_id(records: tuple[Advisory, ...], vuln_id: str) -> list[Advisory]:
    return [r for r in records if r.id == vuln_id]


def test_golang_osv_every_record_parses_with_its_ids(vulndata: Path) -> None:
    root = vulndata / "golang" / "data" / "osv"
    result = ingest_files(iter_feed_files(root))
    files = sorted(root.glob("GO-*.json"))
    assert not result.skipped
    assert len(result.records) == len(files)
    parsed = {r.id: r for r in result.records}
    for path in files[::97]:  # a spread sample checked field by field
        raw = json.loads(path.read_bytes())
        record = parsed[raw["id"]]
        assert record.aliases == tuple(raw.get("aliases", ()))
        assert [a.name for a in record.affected] == [a["package"]["name"] for a in raw.get("affected", [])]
        assert all(a.ecosystem == "Go" for a in record.affected)
        assert record.sources == ("osv:Go",)


def test_pypa_yaml_records_parse(vulndata: Path) -> None:
    root = vulndata / "pypa" / "vulns"
    result = ingest_files(iter_feed_files(root))
    files = list(root.rglob("PYSEC-*.yaml"))
    assert not result.skipped
    assert len(result.records) == len(files)
    sample = min(files)
    raw = yaml.safe_load(sample.read_bytes())
    record = next(r for r in result.records if r.id == raw["id"])
    assert {a.ecosystem for a in record.affected} == {"PyPI"}
    raw_events = [(k, str(v)) for a in raw["affected"] for r in a["ranges"] for e in r["events"] for k, v in e.items()]
    assert [(e.kind.value, e.value) for a in record.affected for r in a.ranges for e in r.events] == raw_events


def test_ghsa_records_carry_github_severity_and_cvss(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "ghsa"))
    assert len(result.records) == 5
    for record in result.records:
        raw = json.loads(next((vulndata / "ghsa").rglob(f"{record.id}.json")).read_bytes())
        assert record.severity_source == "ghsa"
        assert record.severity is Severity.parse(raw["database_specific"]["severity"])
        assert record.cvss_vectors == tuple(s["score"] for s in raw.get("severity", []))
        assert set(record.aliases) == set(raw["aliases"])


def test_rubysec(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "rubysec"))
    assert not result.skipped
    assert len(result.records) == len(list((vulndata / "rubysec").rglob("*.yml")))
    (record,) = by_id(result.records, "CVE-2023-50725")
    assert record.aliases == ("GHSA-gc3j-vvwf-4rp8",)
    assert events(record, "RubyGems", "resque") == [("introduced", "0"), ("fixed", "2.2.1")]
    assert record.cvss_score == 6.3
    assert record.severity_source == "score:3.0"


def test_rustsec(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "rustsec"))
    files = list((vulndata / "rustsec").rglob("RUSTSEC-*.md"))
    excluded = sum(count for _, count in result.excluded)
    assert not result.skipped
    assert len(result.records) + excluded == len(files)
    assert excluded > 0  # unmaintained/notice advisories are counted, not silently dropped
    for record in result.records:
        for affected in record.affected:
            assert affected.ecosystem == "crates.io"
            for rng in affected.ranges:
                assert rng.type is RangeType.SEMVER
                for event in rng.events:
                    assert event.value == "0" or event.value.count(".") >= 2, (record.id, event)


def test_friendsofphp_branches_become_ranges(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "friendsofphp"))
    assert not result.skipped
    (record,) = [r for r in by_id(result.records, "CVE-2019-11458") if r.affected[0].name == "cakephp/cakephp"]
    assert events(record, "Packagist", "cakephp/cakephp") == [
        ("introduced", "3.0.0"),
        ("fixed", "3.5.18"),
        ("introduced", "3.6.0"),
        ("fixed", "3.6.15"),
        ("introduced", "3.7.0"),
        ("fixed", "3.7.7"),
    ]


def test_alpine_secdb(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "alpine-secdb" / "v3.10"))
    assert not result.skipped
    (record,) = by_id(result.records, "CVE-2019-10206")
    assert events(record, "Alpine:v3.10", "ansible") == [("introduced", "0"), ("fixed", "2.8.4-r0")]
    raw = yaml.safe_load((vulndata / "alpine-secdb" / "v3.10" / "main.yaml").read_bytes())
    expected = {
        (p["pkg"]["name"], cve.split()[0])
        for p in raw["packages"]
        for fixed, cves in (p["pkg"].get("secfixes") or {}).items()
        if str(fixed) != "0"
        for cve in cves
    }
    got = {(a.name, r.id) for r in result.records for a in r.affected if a.ecosystem == "Alpine:v3.10"}
    main_only = {pair for pair in got if pair in expected}
    assert main_only == expected


def test_debian_dsa_list(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "debian-tracker"))
    assert not result.skipped
    (record,) = [r for r in by_id(result.records, "CVE-2023-1393") if "DSA-5380-1" in r.related]
    assert events(record, "Debian:11", "xorg-server") == [("introduced", "0"), ("fixed", "2:1.20.11-1+deb11u6")]
    # Every DSA header that has a release line with a version yields advisories for all of its CVEs.
    text = (vulndata / "debian-tracker" / "data" / "DSA" / "list").read_text()
    block = text.split("DSA-5377-1", 1)[1].split("\n[", 1)[0]
    cves = block.split("{", 1)[1].split("}", 1)[0].split()
    assert {r.id for r in result.records if "DSA-5377-1" in r.related} == set(cves)


def test_debian_tracker_json(vulndata: Path) -> None:
    path = vulndata / "vunnel-fixtures" / "tests" / "unit" / "providers" / "debian" / "test-fixtures" / "input"
    result = ingest_files([("debian.json", (path / "debian.json").read_bytes())])
    assert not result.skipped
    raw = json.loads((path / "debian.json").read_bytes())
    (record,) = by_id(result.records, "CVE-2008-7220")
    release = raw["prototypejs"]["CVE-2008-7220"]["releases"]["buster"]
    assert events(record, "Debian:10", "prototypejs") == [("introduced", "0"), ("fixed", release["fixed_version"])]
    assert {a.ecosystem for a in record.affected} == {"Debian:8", "Debian:9", "Debian:10", "Debian:sid"}
    opened = [
        (pkg, cve, codename)
        for pkg, cves in raw.items()
        for cve, entry in cves.items()
        for codename, rel in (entry.get("releases") or {}).items()
        if rel["status"] == "open"
    ]
    assert opened
    for pkg, cve, _ in opened:
        affected = [a for r in by_id(result.records, cve) for a in r.affected if a.name == pkg]
        assert any(a.fix_state in {FixState.NOT_FIXED, FixState.END_OF_LIFE, FixState.WONT_FIX} for a in affected)


def test_wolfi_latest_event_decides(vulndata: Path) -> None:
    tarball = vulndata / "wolfi" / "wolfi-advisories.tar.gz"
    result = ingest_files(iter_feed_files(tarball))
    assert not result.skipped
    (record,) = [r for r in by_id(result.records, "CVE-2024-24791") if r.affected[0].name == "go-fips-1.21"]
    assert events(record, "Wolfi", "go-fips-1.21") == [("introduced", "0"), ("fixed", "1.21.12-r0")]
    assert "CGA-38cx-2w3x-fj66" in record.aliases
    # Independent count: advisories whose newest event is not a false-positive determination.
    expected = 0
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            if not member.name.endswith(".advisories.yaml"):
                continue
            document = yaml.load(archive.extractfile(member).read(), Loader=yaml.CSafeLoader)
            for adv in document.get("advisories") or []:
                newest = max(enumerate(adv["events"]), key=lambda pair: (str(pair[1].get("timestamp")), pair[0]))[1]
                expected += newest["type"] != "false-positive-determination"
    assert len(result.records) == expected


def test_azure_linux_oval(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "azurelinux-oval"))
    raw = (vulndata / "azurelinux-oval" / "azurelinux-3.0-oval.xml").read_text()
    definitions = raw.count("<definition ")
    azure = [a for r in result.records for a in r.affected if a.ecosystem == "Azure Linux:3"]
    azure_skipped = [s for s in result.skipped if "azurelinux" in s.path]
    assert len(azure) + len(azure_skipped) == definitions
    (record,) = by_id(result.records, "CVE-2025-26466")
    assert events(record, "Azure Linux:3", "openssh") == [("introduced", "0"), ("fixed", "9.8p1-3.azl3")]
    assert next(a for a in record.affected if a.name == "openssh").severity is Severity.HIGH
    mariner = [a for r in result.records for a in r.affected if a.ecosystem == "Mariner:2"]
    assert any(a.fix_state is FixState.NOT_FIXED for a in mariner)
    assert any(
        e.kind is EventKind.LAST_AFFECTED
        for a in mariner
        if a.fix_state is FixState.NOT_FIXED
        for r in a.ranges
        for e in r.events
    )


def test_kev_json_and_csv_agree(vulndata: Path) -> None:
    json_path = vulndata / "kev" / "known_exploited_vulnerabilities.json"
    csv_path = vulndata / "kev" / "known_exploited_vulnerabilities.csv"
    from_json = ingest_files([(json_path.name, json_path.read_bytes())])
    from_csv = ingest_files([(csv_path.name, csv_path.read_bytes())])
    assert not from_json.skipped
    assert not from_csv.skipped
    assert {e.cve for e in from_json.kev} == {e.cve for e in from_csv.kev}
    assert len(from_json.kev) == json.loads(json_path.read_bytes())["count"]


def test_malicious_packages(vulndata: Path) -> None:
    result = ingest_files(iter_feed_files(vulndata / "malicious"))
    assert not result.skipped
    assert len(result.records) == len(list((vulndata / "malicious").rglob("MAL-*.json")))
    assert {r.sources[0] for r in result.records} == {"malicious"}


@pytest.mark.parametrize("folder", ["LICENSES"])
def test_non_feed_files_are_ignored_and_listed(vulndata: Path, folder: str) -> None:
    result = ingest_files(iter_feed_files(vulndata / folder))
    assert not result.records
    assert len(result.ignored_files) == len(list((vulndata / folder).iterdir()))
