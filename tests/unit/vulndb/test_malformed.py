"""Malformed records are skipped AND counted with a reason; the rest of the file set still ingests."""

from __future__ import annotations

import json

import pytest

from wharfinger.vulndb.ingest import ingest_files

GOOD = {
    "id": "OSV-GOOD-1",
    "modified": "2024-01-01T00:00:00Z",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}}],
}

HOSTILE = {
    "not json": b"{not json",
    "no modified": json.dumps({"id": "OSV-1", "affected": []}).encode(),
    "no id": json.dumps({"modified": "2024-01-01T00:00:00Z", "affected": []}).encode(),
    "affected not a list": json.dumps({"id": "OSV-2", "modified": "2024-01-01T00:00:00Z", "affected": {}}).encode(),
    "package without name": json.dumps(
        {"id": "OSV-3", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "npm"}}]}
    ).encode(),
    "unknown event": json.dumps(
        {
            "id": "OSV-4",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {
                    "package": {"ecosystem": "npm", "name": "a"},
                    "ranges": [{"type": "SEMVER", "events": [{"removed": "1.0.0"}]}],
                }
            ],
        }
    ).encode(),
    "unknown range type": json.dumps(
        {
            "id": "OSV-5",
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "ranges": [{"type": "X", "events": []}]}],
        }
    ).encode(),
    "bad timestamp": json.dumps({"id": "OSV-6", "modified": "yesterday"}).encode(),
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "not utf-8": b"\xff\xfe{\x00",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_osv_is_skipped_and_counted(name: str) -> None:
    result = ingest_files([("osv/GOOD.json", json.dumps(GOOD).encode()), (f"osv/{name}.json", HOSTILE[name])])
    assert [r.id for r in result.records] == ["OSV-GOOD-1"]
    assert len(result.skipped) + len(result.ignored_files) == 1
    if result.skipped:
        assert result.skipped[0].path == f"osv/{name}.json"
        assert result.skipped[0].reason


def test_unknown_ecosystems_are_recorded_and_kept() -> None:
    record = {**GOOD, "affected": [{"package": {"ecosystem": "Plan9Ports:4", "name": "x"}}]}
    result = ingest_files([("a.json", json.dumps(record).encode())])
    assert result.unknown_ecosystems == (("Plan9Ports", 1),)
    assert len(result.records) == 1


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("gems/x/CVE-1.yml", b'gem: x\ncve: 2020-1\npatched_versions: [">= ~~ 1"]\n'),
        ("gems/x/CVE-2.yml", b"gem: x\ncve: 2020-2\ncvss_v3: high\n"),
        ("php/a/b/x.yaml", b"title: t\nreference: http://x\nbranches: {}\n"),
        ("crates/x/RUSTSEC-2020-0001.md", b"```toml\n[advisory]\nid = \n```\n"),
        ("crates/x/RUSTSEC-2020-0002.md", b"no front matter"),
        ("v3.10/main.yaml", b"distroversion: v3.10\npackages:\n  - pkg: {name: a, secfixes: {1.0-r0: [[1]]}}\n"),
        ("wolfi/a.advisories.yaml", b"package: {name: a}\nadvisories:\n  - id: CGA-1\n    events: []\n"),
        ("feeds/azurelinux-3.0-oval.xml", b"<oval_definitions><unclosed"),
        ("feeds/unknown-oval.xml", b"<oval_definitions xmlns='x'/>"),
        ("data/DSA/list", b"[99 Foo 2023] DSA-1-1 pkg - text\n\t[bookworm] - pkg 1.0\n"),
        ("data/DSA/list", b"[01 Jan 2023] DSA-2-1 pkg - text\n\t[hurd] - pkg 1.0\n"),
        ("epss.csv", b"cve,epss,percentile\nCVE-2020-1,2.5,0.1\nCVE-2020-2,x,0.1\n"),
        ("kev.csv", b"cveID,dateAdded\nnot-a-cve,2020-01-01\n"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_hostile_native_records_are_skipped_with_a_reason(path: str, data: bytes) -> None:
    result = ingest_files([(path, data)])
    assert result.skipped, result
    assert all(s.reason and s.path == path for s in result.skipped)
    assert not result.records
