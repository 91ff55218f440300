"""One realistic scan result for every renderer: real GHSA records from ../shared, the real matcher and policy."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wharfinger.inventory.package import Location, Package, PackageType
from wharfinger.matching import MemorySource, match_packages
from wharfinger.report import ScanSubject
from wharfinger.scan import FailOn, ScanPolicy, ScanResult, apply_policy, parse_exceptions, parse_openvex
from wharfinger.vulndb.ingest import ingest_files
from wharfinger.vulndb.inputs import iter_feed_files
from wharfinger.vulndb.merge import merge_advisories
from wharfinger.vulndb.model import Advisory, Affected, Event, EventKind, FixState, Range, RangeType, Severity

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
DIGEST = "sha256:" + "ab" * 32
LAYER_1 = "sha256:" + "1" * 64
LAYER_2 = "sha256:" + "2" * 64
HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def _npm(name: str, version: str) -> Package:
    return Package(
        name=name,
        version=version,
        type=PackageType.NPM,
        purl=f"pkg:npm/{name}@{version}",
        layer_digest=LAYER_2,
        locations=(Location(path=f"/app/node_modules/{name}/package.json", layer_digest=LAYER_2),),
    )


def _openssl_advisory() -> Advisory:
    return Advisory(
        id="CVE-2099-0001",
        summary=HOSTILE,
        severity=Severity.HIGH,
        severity_source="cvss:3.1",
        cvss_vectors=("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:H",),
        cvss_score=7.4,
        kev=True,
        references=("javascript:alert(1)", "https://example.org/CVE-2099-0001"),
        affected=(
            Affected(
                ecosystem="Debian:12",
                name="openssl",
                ranges=(
                    Range(
                        type=RangeType.ECOSYSTEM,
                        events=(
                            Event(kind=EventKind.INTRODUCED, value="0"),
                            Event(kind=EventKind.FIXED, value="3.0.13-1~deb12u1"),
                        ),
                    ),
                ),
                fix_state=FixState.FIXED,
            ),
        ),
    )


@pytest.fixture(scope="session")
def scan_result(shared_dir: Path) -> ScanResult:
    ghsa = ingest_files(iter_feed_files(shared_dir / "vulndata" / "ghsa"))
    advisories = [*merge_advisories(ghsa.records), _openssl_advisory()]
    packages = [
        _npm("lodash", "4.17.11"),
        _npm("minimist", "1.2.5"),
        _npm("node-fetch", "2.6.0"),
        Package(
            name="libssl3",
            version="3.0.11-1~deb12u2",
            type=PackageType.DEB,
            purl="pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12",
            source_name="openssl",
            source_version="3.0.11-1~deb12u2",
            layer_digest=LAYER_1,
            locations=(Location(path="/var/lib/dpkg/status", layer_digest=LAYER_1),),
        ),
    ]
    from wharfinger.inventory.package import Distro

    match = match_packages(packages, MemorySource(advisories), distro=Distro(id="debian", version_id="12"))
    node_fetch = next(f for f in match.findings if f.package.name == "node-fetch")
    vex = parse_openvex(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.com/vex/1",
                "author": "Example",
                "timestamp": "2026-01-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": node_fetch.advisory_id},
                        "products": [{"@id": "pkg:npm/node-fetch"}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            }
        ).encode(),
        source="app.vex.json",
    )
    minimist = next(f for f in match.findings if f.package.name == "minimist")
    exceptions = parse_exceptions(
        (
            "exceptions:\n"
            f"  - id: {minimist.advisory_id}\n"
            "    package: 'pkg:npm/minimist*'\n"
            f"    reason: 'only parses our own flags {HOSTILE}'\n"
            "    approver: security@example.com\n"
            "    expires: 2027-01-31\n"
        ).encode(),
        source="exceptions.yaml",
    )
    policy = ScanPolicy(fail_on=FailOn.HIGH, vex=vex, exceptions=exceptions)
    return apply_policy(match, policy, now=NOW, image="registry.example.com/shop/api:1.2", image_digest=DIGEST)


@pytest.fixture(scope="session")
def subject() -> ScanSubject:
    return ScanSubject(name="registry.example.com/shop/api:1.2", kind="image", digest=DIGEST, distro="debian 12")
