"""``wharfinger scan`` as a user runs it: a real database built from the shared feeds, SBOM files,
exceptions and VEX files, exit codes and the one-line gate summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from testkit.vulndb import build_feed_database

Run = Callable[..., CompletedProcess[str]]
FEEDS = ["ghsa", "pypa/vulns/django", "alpine-secdb/v3.11", "debian-tracker/data/DSA", "kev"]


@pytest.fixture(scope="module")
def database(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "vulndb.sqlite"
    return build_feed_database(path, shared_dir / "vulndata", FEEDS, now=datetime.now(UTC) - timedelta(hours=1))


def component(name: str, version: str, purl: str) -> dict[str, str]:
    return {"type": "library", "name": name, "version": version, "purl": purl}


@pytest.fixture
def sbom(tmp_path: Path) -> Path:
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {"component": {"type": "container", "name": "shop"}},
        "components": [
            component("lodash", "4.17.11", "pkg:npm/lodash@4.17.11"),
            component("Django", "3.2.18", "pkg:pypi/django@3.2.18"),
            component(
                "liblog4j2-java",
                "2.13.3-1",
                "pkg:deb/debian/liblog4j2-java@2.13.3-1?arch=all&upstream=apache-log4j2&distro=debian-11",
            ),
            component("weird", "???", "pkg:pypi/weird@%3F%3F%3F"),
        ],
    }
    path = tmp_path / "shop.cdx.json"
    path.write_text(json.dumps(document))
    return path


def scan_json(run_cli: Run, *args: str) -> tuple[CompletedProcess[str], dict[str, object]]:
    result = run_cli("scan", *args, "-o", "json")
    return result, json.loads(result.stdout)


def test_gate_fails_with_one_line_summary(run_cli: Run, database: Path, sbom: Path) -> None:
    result = run_cli("scan", str(sbom), "--db", str(database), "--fail-on", "high")
    assert result.returncode == 1, result.stderr
    summary = result.stderr.strip().splitlines()
    assert len(summary) == 1
    assert summary[0].startswith("gate failed: ")
    assert "CVE-2019-10744 in lodash 4.17.11" in summary[0]
    assert "CVE-2021-44228 [KEV]" in result.stdout  # Log4Shell, matched through the Debian source package
    assert "Known exploited (CISA KEV):" in result.stdout
    assert "weird ???: invalid Python version" in result.stdout


def test_json_output_and_passing_gate(run_cli: Run, database: Path, sbom: Path) -> None:
    result, document = scan_json(
        run_cli, f"sbom:{sbom}", "--db", str(database), "--fail-on", "critical", "--ignore-unfixed"
    )
    assert result.returncode == 1  # lodash CVE-2019-10744 is critical and fixed in 4.17.12
    assert document["schema"] == "wharfinger.scan/v1"
    findings = {f["id"]: f for f in document["findings"]}  # type: ignore[union-attr]
    assert findings["CVE-2019-10744"]["fixed_versions"] == ["4.17.12"]
    assert findings["CVE-2021-44228"]["ecosystem"] == "Debian:11"
    assert findings["CVE-2021-44228"]["kev"] is True
    assert "apache-log4j2" in findings["CVE-2021-44228"]["explanation"]
    assert document["summary"]["packages_skipped"] == 1  # type: ignore[index]


def test_exceptions_and_vex_make_the_gate_pass(run_cli: Run, database: Path, sbom: Path, tmp_path: Path) -> None:
    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_text(
        "exceptions:\n"
        "  - id: CVE-2019-10744\n    package: pkg:npm/lodash*\n    reason: defaultsDeep is never called\n"
        "    approver: security@example.com\n    expires: 2999-01-01\n"
        "  - id: CVE-2021-23337\n    reason: expired on purpose\n"
        "    approver: bob@example.com\n    expires: 2020-01-01\n"
    )
    vex = tmp_path / "shop.vex.json"
    vex.write_text(
        json.dumps(
            {
                "@context": "https://openvex.dev/ns/v0.2.0",
                "@id": "https://example.com/vex/shop",
                "author": "shop team",
                "timestamp": "2024-05-01T00:00:00Z",
                "version": 1,
                "statements": [
                    {
                        "vulnerability": {"name": "CVE-2021-44228"},
                        "products": [{"@id": "pkg:deb/debian/liblog4j2-java"}],
                        "status": "not_affected",
                        "justification": "vulnerable_code_not_in_execute_path",
                    }
                ],
            }
        )
    )
    result, document = scan_json(
        run_cli,
        str(sbom),
        "--db",
        str(database),
        "--fail-on",
        "critical",
        "--exceptions",
        str(exceptions),
        "--vex",
        str(vex),
    )
    assert result.returncode == 0, result.stderr
    suppressed = {s["id"]: s for s in document["suppressed"]}  # type: ignore[union-attr]
    assert suppressed["CVE-2019-10744"]["suppressed_by"] == "exception"
    assert "security@example.com" in suppressed["CVE-2019-10744"]["reason"]
    assert suppressed["CVE-2021-44228"]["suppressed_by"] == "vex"
    assert "vulnerable_code_not_in_execute_path" in suppressed["CVE-2021-44228"]["reason"]
    assert [e["id"] for e in document["expired_exceptions"]] == ["CVE-2021-23337"]  # type: ignore[union-attr]
    assert document["gate"]["passed"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("--fail-on", "severe"), "is not a severity"),
        (("-o", "pdf"), "unknown output format"),
        (("--exceptions", "/nonexistent/exceptions.yaml"), "cannot read the exceptions file"),
    ],
)
def test_bad_flags_exit_3_with_a_hint(
    run_cli: Run, database: Path, sbom: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = run_cli("scan", str(sbom), "--db", str(database), *args)
    assert result.returncode == 3
    assert fragment in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_and_corrupt_databases(run_cli: Run, sbom: Path, tmp_path: Path) -> None:
    missing = run_cli("scan", str(sbom), "--db", str(tmp_path / "none.sqlite"))
    assert missing.returncode == 3
    assert "no vulnerability database" in missing.stderr
    corrupt = tmp_path / "corrupt.sqlite"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    broken = run_cli("scan", str(sbom), "--db", str(corrupt))
    assert broken.returncode == 3, broken.stderr
    assert "Traceback" not in broken.stderr


def test_invalid_exceptions_file_is_line_precise(run_cli: Run, database: Path, sbom: Path, tmp_path: Path) -> None:
    exceptions = tmp_path / "exceptions.yaml"
    exceptions.write_text("exceptions:\n  - id: CVE-1\n    reason: r\n    approver: a\n    expires: soon\n")
    result = run_cli("scan", str(sbom), "--db", str(database), "--exceptions", str(exceptions))
    assert result.returncode == 3
    assert "line 5: 'expires' must be a date" in result.stderr


def test_offline_refuses_registry_references(run_cli: Run, database: Path) -> None:
    result = run_cli("scan", "registry.example.com/shop/cart:1.0", "--db", str(database), "--offline")
    assert result.returncode == 3
    assert "--offline" in result.stderr


def test_unreadable_sbom(run_cli: Run, database: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{this is not an sbom")
    result = run_cli("scan", str(bad), "--db", str(database))
    assert result.returncode == 3
    assert "Traceback" not in result.stderr


STATUS = b"""Package: liblog4j2-java
Status: install ok installed
Priority: optional
Section: java
Maintainer: Debian Java Maintainers <pkg-java-maintainers@lists.alioth.debian.org>
Architecture: all
Source: apache-log4j2
Version: 2.13.3-1
Description: Apache Log4j - Logging Framework for Java

Package: base-files
Status: install ok installed
Architecture: amd64
Version: 11.1+deb11u5
Description: Debian base system miscellaneous files
"""
OS_RELEASE = (
    b'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\nVERSION_ID="11"\n'
    b"VERSION_CODENAME=bullseye\nID=debian\n"
)


def _tar(files: dict[str, bytes]) -> bytes:
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _blob(root: Path, data: bytes) -> dict[str, object]:
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def test_scan_an_oci_layout_names_the_layer(run_cli: Run, database: Path, tmp_path: Path) -> None:
    layout = tmp_path / "layout"
    base = _blob(layout, _tar({"etc/os-release": OS_RELEASE}))
    app = _blob(layout, _tar({"var/lib/dpkg/status": STATUS}))
    diff_ids = [base["digest"], app["digest"]]  # uncompressed layers: diff ids are the digests
    config = _blob(
        layout,
        json.dumps(
            {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}}
        ).encode(),
    )
    layer_type = "application/vnd.oci.image.layer.v1.tar"
    manifest = _blob(
        layout,
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
                "layers": [{"mediaType": layer_type, **base}, {"mediaType": layer_type, **app}],
            }
        ).encode(),
    )
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **manifest,
                "annotations": {"org.opencontainers.image.ref.name": "1.0"},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
    cache = tmp_path / "cache"
    result = run_cli(
        "scan", f"oci:{layout}:1.0", "--db", str(database), "--offline", "-o", "json",
        env={"XDG_CACHE_HOME": str(cache), "WHARFINGER_CACHE_DIR": str(cache)},
    )  # fmt: skip
    document = json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    assert document["source"]["distro"] == "debian 11"
    assert document["source"]["digest"] == manifest["digest"]
    log4shell = next(f for f in document["findings"] if f["id"] == "CVE-2021-44228")
    assert log4shell["package"]["layer"] == app["digest"]
    assert str(app["digest"]) in log4shell["explanation"]
    assert log4shell["matched_name"] == "apache-log4j2"
    assert all(f["package"]["name"] != "base-files" for f in document["findings"])


@pytest.mark.parametrize(
    ("option", "django_found"), [([], True), (["--catalogers", "installed"], False)], ids=["default", "installed"]
)
def test_scan_of_a_directory_reads_lock_files_unless_asked(
    run_cli: Run, database: Path, tmp_path: Path, option: list[str], *, django_found: bool
) -> None:
    """``scan`` takes the inventory's cataloger selection: ``dir:`` counts a pinned requirement."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "requirements.txt").write_text("Django==3.2.18\n")
    cache = tmp_path / "cache"
    result = run_cli(
        "scan", f"dir:{root}", "--db", str(database), "--offline", *option, "-o", "json",
        env={"XDG_CACHE_HOME": str(cache), "WHARFINGER_CACHE_DIR": str(cache)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert any(f["package"]["name"] == "Django" for f in findings) is django_found
