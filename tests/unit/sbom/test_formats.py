"""Every SBOM format from a real inventory: schema-valid, and read back to the same packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from testkit.peers import syft_binary
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


def test_cyclonedx_is_read_by_cyclonedx_python_lib(inventory: Inventory) -> None:
    """The library that defines the model reads our document back: same refs, purls, subject, serial."""
    from cyclonedx.model.bom import Bom
    from packageurl import PackageURL

    document = json.loads(render_sbom(inventory, "cyclonedx-json", SUBJECT, now=NOW))
    bom = Bom.from_json(document)
    assert f"urn:uuid:{bom.serial_number}" == document["serialNumber"]
    assert bom.metadata.component.name == SUBJECT.name
    assert {str(c.bom_ref) for c in bom.components} == {c["bom-ref"] for c in document["components"]}
    assert {c.purl for c in bom.components if c.purl} == {PackageURL.from_string(p.purl) for p in inventory.packages}
    subject_dependency = next(d for d in bom.dependencies if str(d.ref) == "subject")
    assert len(subject_dependency.dependencies) == len(document["components"])


def test_cyclonedx_bytes_are_the_same_in_every_process(inventory: Inventory, tmp_path: Path) -> None:
    """Same inventory, same time: the same bytes whatever the hash seed (nothing depends on set order);
    the serial number follows the content."""
    native = tmp_path / "inventory.json"
    native.write_text(render_sbom(inventory, "json", SUBJECT, now=NOW))
    program = (
        "import sys; from datetime import datetime; from pathlib import Path\n"
        "from wharfinger.sbom import SbomSubject, parse_sbom, render_sbom\n"
        "inventory = parse_sbom(Path(sys.argv[1]).read_bytes())\n"
        f"subject = SbomSubject(name={SUBJECT.name!r}, kind='image', digest={SUBJECT.digest!r}, "
        f"platform={SUBJECT.platform!r})\n"
        f"now = datetime.fromisoformat({NOW.isoformat()!r})\n"
        "sys.stdout.write(render_sbom(inventory, 'cyclonedx-json', subject, now=now))\n"
    )
    outputs = {
        seed: subprocess.run(
            [sys.executable, "-c", program, str(native)],
            capture_output=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    }
    expected = render_sbom(inventory, "cyclonedx-json", SUBJECT, now=NOW).encode()
    assert outputs == {"1": expected, "2": expected}
    later = json.loads(render_sbom(inventory, "cyclonedx-json", SUBJECT, now=NOW.replace(hour=13)))
    assert later["serialNumber"] != json.loads(expected)["serialNumber"]


def test_cyclonedx_licenses_are_one_expression_or_named_licenses(inventory: Inventory) -> None:
    """All licenses valid SPDX: one ``expression`` (AND of them); any not: every license as a ``name``."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.license import DisjunctiveLicense, LicenseExpression
    from license_expression import get_spdx_licensing

    text = render_sbom(inventory, "cyclonedx-json", SUBJECT, now=NOW)
    by_name = {c["name"]: c for c in json.loads(text)["components"]}
    assert by_name["ada-libs"]["licenses"] == [{"expression": "(Apache-2.0 OR MIT) AND MPL-2.0"}]  # apk, one expression
    assert by_name["libpam-runtime"]["licenses"] == [  # deb copyright: three valid ids
        {"expression": "GPL-2.0-only AND LGPL-2.1-only AND GPL-1.0-only"}
    ]
    assert by_name["musl-utils"]["licenses"] == [  # "BSD" and "GPL2+" are not SPDX: all three as names
        {"license": {"name": "MIT"}},
        {"license": {"name": "BSD"}},
        {"license": {"name": "GPL2+"}},
    ]
    assert by_name["libuuid"]["licenses"] == [{"license": {"name": "BSD"}}]  # rpm
    licensing = get_spdx_licensing()
    for component in by_name.values():
        for entry in component.get("licenses", []):
            if "expression" in entry:
                assert licensing.validate(entry["expression"], strict=True).errors == [], entry
    library = {c.name: list(c.licenses) for c in Bom.from_json(json.loads(text)).components}
    assert isinstance(library["ada-libs"][0], LicenseExpression)
    assert all(isinstance(lic, DisjunctiveLicense) and lic.name for lic in library["musl-utils"])
    back = {p.name: p.licenses for p in parse_sbom(text.encode()).packages}
    assert back["libpam-runtime"] == ("GPL-2.0-only AND LGPL-2.1-only AND GPL-1.0-only",)
    assert back["musl-utils"] == ("MIT", "BSD", "GPL2+")


def test_cyclonedx_refs_stay_unique_for_two_copies_of_a_jar(shared_dir: Path, tmp_path: Path) -> None:
    """syft lists a jar found at two paths twice with one purl; rewritten by us, each keeps its own
    bom-ref, its own dependency entry and its own location."""
    jar = shared_dir / "fixtures/inventory/trivy/pkg/dependency/parser/java/jar/testdata/multi-license-1.0.0.jar"
    for folder in ("a", "b"):
        (tmp_path / "root" / folder).mkdir(parents=True)
        shutil.copy(jar, tmp_path / "root" / folder / jar.name)
    peer = tmp_path / "syft.cdx.json"
    subprocess.run(
        [syft_binary(), f"dir:{tmp_path / 'root'}", "-q", "-o", f"cyclonedx-json={peer}"],
        check=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "HOME": str(tmp_path)},
    )
    read = parse_sbom(peer.read_bytes())
    assert [p.purl for p in read.packages] == ["pkg:maven/com.example/multi-license@1.0.0"] * 2

    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = render_sbom(read, "cyclonedx-json", SbomSubject(name="dir:root", kind="directory"), now=NOW)
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    document = json.loads(text)
    refs = [c["bom-ref"] for c in document["components"]]
    assert refs == ["pkg:maven/com.example/multi-license@1.0.0", "pkg:maven/com.example/multi-license@1.0.0#2"]
    assert [d["ref"] for d in document["dependencies"]] == ["subject", *refs]
    assert document["dependencies"][0]["dependsOn"] == refs
    back = parse_sbom(text.encode())
    assert sorted(p.locations[0].path for p in back.packages) == [
        f"/a/{jar.name}",
        f"/b/{jar.name}",
    ]


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


@pytest.mark.parametrize("fmt", ["json", "cyclonedx-json", "spdx-json"])
def test_json_formats_are_laid_out_as_json_dumps_indent_2(inventory: Inventory, fmt: str) -> None:
    """The writers' own encoder (``sbom._json``) keeps the layout ``json.dumps(indent=2)`` gave them."""
    text = render_sbom(inventory, fmt, SUBJECT, now=NOW)
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"


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
