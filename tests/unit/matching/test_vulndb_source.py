"""vulndb's SQLite database and its in-memory index are AdvisorySources: matching through either
gives the same findings as matching the records read directly."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from osv_records import alpine_secdb, records, to_advisory

from testkit.vulndb import build_feed_database
from wharfinger.inventory.package import Package, PackageType
from wharfinger.matching import AdvisorySource, MemorySource, match_packages
from wharfinger.vulndb.database import VulnDatabase

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def test_database_and_index_match_like_the_records(shared_dir: Path, tmp_path: Path) -> None:
    root = shared_dir / "vulndata"
    path = build_feed_database(tmp_path / "vulndb.sqlite", root, ["ghsa", "alpine-secdb/v3.11"], now=NOW)
    packages = [
        Package(name="lodash", version="4.17.11", type=PackageType.NPM, purl="pkg:npm/lodash@4.17.11"),
        Package(
            name="libcrypto1.1",
            version="1.1.1d-r2",
            type=PackageType.APK,
            purl="pkg:apk/alpine/libcrypto1.1@1.1.1d-r2?distro=alpine-3.11.6",
            source_name="openssl",
        ),
    ]
    direct = [to_advisory(d) for _, d in records(root / "ghsa")]
    direct += alpine_secdb(root / "alpine-secdb" / "v3.11" / "main.yaml")
    direct += alpine_secdb(root / "alpine-secdb" / "v3.11" / "community.yaml")
    expected = {(f.package.name, f.advisory_id) for f in match_packages(packages, MemorySource(direct)).findings}
    expected_ids = {i for _, i in expected}
    assert {"GHSA-jf85-cpcp-j695", "CVE-2019-1551"} <= expected_ids
    with VulnDatabase.open(path) as database:
        assert isinstance(database, AdvisorySource)
        from_db = match_packages(packages, database).findings
        from_index = match_packages(packages, database.load_index()).findings

    def covered(findings: tuple) -> set[str]:  # type: ignore[type-arg]
        # vulndb merges aliases: the primary id may be the CVE where we read the GHSA id
        return {i for f in findings for i in f.ids}

    assert expected_ids <= covered(from_db)
    assert covered(from_db) == covered(from_index)
    assert len(from_db) == len(from_index)
