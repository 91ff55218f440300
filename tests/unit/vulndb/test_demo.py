from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from wharfinger.vulndb.database import VulnDatabase
from wharfinger.vulndb.demo import demo_database, demo_records

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[3] / "src" / "wharfinger"


def test_demo_records_are_osv_and_all_ingest(tmp_path: Path) -> None:
    path = demo_database(tmp_path, now=NOW)
    with VulnDatabase.open(path) as db:
        info = db.info()
        assert info.skipped == 0
        assert info.advisories == len(demo_records())
        for name, data in demo_records():
            record = json.loads(data)
            advisory = db.advisory(record["id"])
            assert advisory is not None, name
            assert advisory.summary == record["summary"]


def test_demo_database_is_built_once_and_reused(tmp_path: Path) -> None:
    first = demo_database(tmp_path, now=NOW)
    stamp = first.stat().st_mtime_ns
    second = demo_database(tmp_path, now=NOW)
    assert first == second
    assert second.stat().st_mtime_ns == stamp


def test_a_damaged_cached_copy_is_rebuilt(tmp_path: Path) -> None:
    path = demo_database(tmp_path, now=NOW)
    path.write_bytes(path.read_bytes()[:1000])
    rebuilt = demo_database(tmp_path, now=NOW)
    with VulnDatabase.open(rebuilt) as db:
        assert db.info().advisories == len(demo_records())


def test_scan_of_the_demo_image_with_the_demo_database(run_cli, tmp_path: Path) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    built = run_cli("db", "demo", env=env)
    assert built.returncode == 0, built.stderr
    db = built.stdout.strip()
    assert db.startswith(str(tmp_path))
    layout = SRC / "demo" / "image"
    done = run_cli("scan", f"oci:{layout}:1.0", "--db", db, "-o", "json", "--fail-on", "high", env=env)
    assert done.returncode == 1, done.stderr  # the demo has critical and high findings: the gate trips
    report = json.loads(done.stdout)
    found = {(f["id"], f["package"]["name"]) for f in report["findings"]}
    # Independent expectation from the records and the image's dpkg database: each advisory names a source
    # package; every installed binary built from it is affected unless its version is the fixed one.
    status = {"openssl": ["libssl3", "openssl"], "glibc": ["libc6"], "zlib": ["zlib1g"]}
    installed = {"openssl": "3.0.11-1~deb12u2", "glibc": "2.36-9+deb12u3", "zlib": "1:1.2.13.dfsg-1"}
    expected = set()
    for _, data in demo_records():
        record = json.loads(data)
        (affected,) = record["affected"]
        fixed = [e["fixed"] for e in affected["ranges"][0]["events"] if "fixed" in e]
        source = affected["package"]["name"]
        if fixed and fixed[0] == installed[source]:
            continue  # the image already has the fix (CVE-2023-5363)
        expected |= {(record["id"], binary) for binary in status[source]}
    assert found == expected
    assert ("CVE-2023-5363", "libssl3") not in found
    assert Path(db).exists()
