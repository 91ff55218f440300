"""``VulnDatabase.advisories_for_many`` (the batch the scan path uses) answers exactly what
``advisories_for`` answers package by package, and matching through it gives the same result."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from testkit.vulndb import build_feed_database
from wharfinger.inventory.package import Package, PackageType
from wharfinger.matching import match_packages
from wharfinger.matching.source import BatchAdvisorySource, CallableSource
from wharfinger.vulndb.database import VulnDatabase

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _database(shared_dir: Path, tmp_path: Path) -> Path:
    return build_feed_database(
        tmp_path / "vulndb.sqlite", shared_dir / "vulndata", ["ghsa", "pypa", "alpine-secdb/v3.11"], now=NOW
    )


def test_batch_answers_like_one_query_per_package(shared_dir: Path, tmp_path: Path) -> None:
    with VulnDatabase.open(_database(shared_dir, tmp_path)) as database:
        assert isinstance(database, BatchAdvisorySource)
        stored = list(dict.fromkeys((a.ecosystem, a.name) for adv in database.iter_advisories() for a in adv.affected))
        assert len(stored) > 200
        alpine = next(name for ecosystem, name in stored if ecosystem.startswith("Alpine:"))
        upper = next((e, n.upper().replace("-", "_")) for e, n in stored if e == "PyPI")  # PEP 503: same key
        missing = [("npm", f"no-such-package-{n}") for n in range(300)]  # past one statement's 400 pairs
        pairs = [*stored, *missing, ("Alpine", alpine), upper, ("PyPI", "no-such-package-anywhere"), stored[0]]
        batch = database.advisories_for_many(pairs)
        assert set(batch) == set(pairs)
        for ecosystem, name in pairs:
            assert batch[(ecosystem, name)] == database.advisories_for(ecosystem, name), (ecosystem, name)
        assert batch[upper]
        assert batch[("Alpine", alpine)]  # a distro asked without release: every release
        assert batch[("PyPI", "no-such-package-anywhere")] == ()


def test_matching_through_the_batch_equals_matching_package_by_package(shared_dir: Path, tmp_path: Path) -> None:
    packages = [
        Package(name="lodash", version="4.17.11", type=PackageType.NPM, purl="pkg:npm/lodash@4.17.11"),
        Package(name="lodash", version="4.17.21", type=PackageType.NPM, purl="pkg:npm/lodash@4.17.21"),
        Package(name="django", version="2.2.0", type=PackageType.PYPI, purl="pkg:pypi/django@2.2.0"),
        Package(name="not-a-version", version="???", type=PackageType.PYPI, purl="pkg:pypi/django@%3F%3F%3F"),
        Package(
            name="libcrypto1.1",
            version="1.1.1d-r2",
            type=PackageType.APK,
            purl="pkg:apk/alpine/libcrypto1.1@1.1.1d-r2?distro=alpine-3.11.6",
            source_name="openssl",
        ),
    ]
    with VulnDatabase.open(_database(shared_dir, tmp_path)) as database:
        batched = match_packages(packages, database)
        one_by_one = match_packages(packages, CallableSource(database.advisories_for))
    assert batched.findings  # lodash 4.17.11, openssl 1.1.1d
    assert batched == one_by_one
