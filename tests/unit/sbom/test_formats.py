"""Every SBOM format from a real inventory: schema-valid, and read back to the same packages."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from wharfinger.errors import SbomFormatError
from wharfinger.inventory.catalog import Inventory, catalog_fs
from wharfinger.inventory.filesystem import DirFS
from wharfinger.sbom import SbomSubject, parse_sbom, render_sbom

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
SUBJECT = SbomSubject(name="oci:/tmp/layout:1.0", kind="image", digest="sha256:" + "ab" * 32, platform="linux/amd64")


@pytest.fixture(scope="module")
def inventory(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """Real package databases side by side: Debian (status + status.d), Alpine and an rpm BDB."""
    root = tmp_path_factory.mktemp("root")
    fixtures = shared_dir / "fixtures/inventory"
    shutil.copytree(fixtures / "syft/syft/pkg/cataloger/debian/testdata/image-dpkg", root, dirs_exist_ok=True)
    (root / "lib/apk/db").mkdir(parents=True)
    shutil.copy(fixtures / "trivy/pkg/fanal/analyzer/pkg/apk/testdata/apk", root / "lib/apk/db/installed")
    (root / "var/lib/rpm").mkdir(parents=True)
    shutil.copy(fixtures / "go-rpmdb/pkg/testdata/libuuid/Packages", root / "var/lib/rpm/Packages")
    result = catalog_fs(DirFS(root))
    assert {p.type.value for p in result.packages} == {"deb", "apk", "rpm"}
    return result


def test_cyclonedx_is_valid_1_6(inventory: Inventory) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_sbom(inventory, "cyclonedx-json", SUBJECT, now=NOW)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    assert document["specVersion"] == "1.6"
    assert document["metadata"]["component"]["type"] == "container"
    assert render_sbom(inventory, "cyclonedx-json", SUBJECT, now=NOW) == text  # deterministic


def test_spdx_is_valid_2_3(inventory: Inventory, tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "out.spdx.json"
    path.write_text(render_sbom(inventory, "spdx-json", SUBJECT, now=NOW))
    messages = validate_full_spdx_document(parse_file(str(path)))
    assert [m.validation_message for m in messages] == []


@pytest.mark.parametrize("fmt", ["json", "cyclonedx-json", "spdx-json"])
def test_round_trip(inventory: Inventory, fmt: str) -> None:
    back = parse_sbom(render_sbom(inventory, fmt, SUBJECT, now=NOW).encode())
    assert sorted((p.type, p.name, p.version, p.purl) for p in back.packages) == sorted(
        (p.type, p.name, p.version, p.purl) for p in inventory.packages
    )
    if fmt == "json":
        assert back.packages == inventory.packages  # lossless
        assert back.distro == inventory.distro
    if fmt == "cyclonedx-json":
        originals = {p.purl: p for p in inventory.packages}
        for package in back.packages:
            assert package.locations == originals[package.purl].locations
            assert package.source_name == originals[package.purl].source_name


def test_table_lists_every_package(inventory: Inventory) -> None:
    table = render_sbom(inventory, "table", SUBJECT, now=NOW)
    lines = table.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "TYPE", "LAYER"]
    assert len(lines) == len(inventory.packages) + 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"hello": 1}', "neither CycloneDX"),
        (b'{"artifacts": [], "source": {}, "schema": {}}', "syft's own JSON"),
        (b'{"bomFormat": "CycloneDX", "components": [{"purl": 5}]}', None),
        (b'{"schema": "https://wharfinger.dev/schemas/sbom/v1", "packages": [{"name": 1}]}', "malformed"),
    ],
    ids=["binary", "array", "unknown", "syft-json", "odd-purl", "bad-package"],
)
def test_bad_sboms_are_clear_errors(data: bytes, message: str | None) -> None:
    if message is None:
        assert parse_sbom(data).packages == ()
        return
    with pytest.raises(SbomFormatError, match=message) as info:
        parse_sbom(data)
    assert info.value.hint


def test_os_package_cpes_are_written_and_read_back(inventory: Inventory) -> None:
    """CycloneDX ``cpe`` (the others as ``wharfinger:cpe`` properties), SPDX ``cpe23Type`` references."""
    os_packages = [p for p in inventory.packages if p.type.value in {"deb", "apk", "rpm"}]
    assert os_packages
    assert all(p.cpes for p in os_packages)
    by_purl = {p.purl: p for p in inventory.packages}
    cyclonedx = json.loads(render_sbom(inventory, "cyclonedx-json", SUBJECT, now=NOW))
    for component in cyclonedx["components"]:
        if component.get("purl") in by_purl:
            assert component["cpe"] == by_purl[component["purl"]].cpes[0]
    spdx = json.loads(render_sbom(inventory, "spdx-json", SUBJECT, now=NOW))
    for entry in spdx["packages"]:
        refs = {
            r["referenceType"]: r["referenceLocator"]
            for r in entry.get("externalRefs", [])
            if r["referenceType"] == "purl"
        }
        if refs.get("purl") in by_purl:
            cpes = [r["referenceLocator"] for r in entry["externalRefs"] if r["referenceType"] == "cpe23Type"]
            assert tuple(cpes) == by_purl[refs["purl"]].cpes
    for fmt in ("cyclonedx-json", "spdx-json"):
        back = parse_sbom(render_sbom(inventory, fmt, SUBJECT, now=NOW).encode())
        assert {p.purl: p.cpes for p in back.packages} == {p.purl: p.cpes for p in inventory.packages}, fmt
