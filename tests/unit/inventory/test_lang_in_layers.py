"""Language catalogers inside a real layer walk (``catalog_layers``): each package carries the
digest of the layer that wrote its evidence, and files installed by dpkg are reported as the deb
only (trivy's behaviour, the default)."""

from __future__ import annotations

import importlib.metadata
import io
import sysconfig
import zipfile
from pathlib import Path

from inventory_layer_builder import Entry, build_tar, gz, layer

from wharfinger.inventory.catalog import catalog_layers
from wharfinger.inventory.cataloger import CatalogerSelection, load_catalogers, select_catalogers
from wharfinger.inventory.catalogers.identifiers import normalise_pypi_name
from wharfinger.inventory.package import PackageType

YAML_METADATA = "/usr/lib/python3/dist-packages/PyYAML-6.0.dist-info/METADATA"
DPKG_STATUS = b"""Package: python3-yaml
Status: install ok installed
Priority: optional
Section: python
Installed-Size: 600
Maintainer: Debian Python Team <team+python@tracker.debian.org>
Architecture: amd64
Source: pyyaml
Version: 6.0-3+b2
Description: YAML parser and emitter for Python3

"""


def _jar() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
            "groupId=org.apache.logging.log4j\nartifactId=log4j-core\nversion=2.14.1\n",
        )
    return buffer.getvalue()


def test_language_packages_in_layers_with_os_owned_files_skipped() -> None:
    base = build_tar(
        [
            Entry("etc/os-release", b'ID=debian\nVERSION_ID="12"\n'),
            Entry("var/lib/dpkg/status", DPKG_STATUS),
            Entry("var/lib/dpkg/info/python3-yaml.list", f"/usr\n{YAML_METADATA}\n".encode()),
            Entry(YAML_METADATA.lstrip("/"), b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 6.0\n"),
        ]
    )
    app = build_tar(
        [
            Entry(
                "app/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nLicense: Apache 2.0\n",
            ),
            Entry("app/lib/log4j-core-2.14.1.jar", _jar()),
            Entry(
                "app/node_modules/@scope/pkg/package.json",
                b'{"name": "@scope/pkg", "version": "1.0.0", "license": "MIT"}',
            ),
        ]
    )
    base_layer, app_layer = layer(gz(base)), layer(gz(app))
    warnings: list[str] = []
    inventory = catalog_layers([base_layer, app_layer], warn=warnings.append)
    by_purl = {p.purl: p for p in inventory.packages}

    assert not any(p.type is PackageType.PYPI and p.name == "PyYAML" for p in inventory.packages)
    assert any(p.type is PackageType.DEB and p.name == "python3-yaml" for p in inventory.packages)

    requests = by_purl["pkg:pypi/requests@2.31.0"]
    assert requests.layer_digest == app_layer.digest
    assert requests.licenses == ("Apache-2.0",)
    log4j = by_purl["pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"]
    assert log4j.layer_digest == app_layer.digest
    assert log4j.locations[0].path == "/app/lib/log4j-core-2.14.1.jar"
    assert by_purl["pkg:npm/%40scope/pkg@1.0.0"].licenses == ("MIT",)
    assert warnings == []

    # syft's view: the dpkg-owned dist-info is reported as well, beside the deb
    both = catalog_layers([base_layer, app_layer], skip_os_owned=False)
    assert {p.purl for p in both.packages} == {*by_purl, "pkg:pypi/pyyaml@6.0"}


def test_lock_files_in_an_image_count_only_when_asked() -> None:
    """An image's default is the installed catalogers (syft's image selection, trivy's image mode)."""
    app = build_tar(
        [
            Entry(
                "app/venv/lib/python3.11/site-packages/requests-2.31.0.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\n",
            ),
            Entry("app/requirements.txt", b"requests==2.31.0\nflask==3.0.0\n"),
        ]
    )
    layers = [layer(gz(app))]
    default = {p.purl for p in catalog_layers(layers).packages}
    assert default == {"pkg:pypi/requests@2.31.0"}
    everything = {p.purl for p in catalog_layers(layers, load_catalogers()).packages}
    assert everything == {"pkg:pypi/requests@2.31.0", "pkg:pypi/flask@3.0.0"}
    declared = select_catalogers(load_catalogers(), CatalogerSelection.DECLARED)
    assert {p.purl for p in catalog_layers(layers, declared).packages} == everything


def test_site_packages_in_a_layer_match_importlib_metadata() -> None:
    """pip's real ``*.dist-info`` folders (this interpreter's site-packages) in a layer: every
    distribution is found with its RECORD, as importlib.metadata lists them (the layer walker once
    dropped RECORD's content, and every installed PyPI package of an image with it)."""
    site = Path(sysconfig.get_paths()["purelib"])
    truth = {
        (normalise_pypi_name(d.metadata["Name"]), d.version)
        for d in importlib.metadata.distributions(path=[str(site)])
        if d.metadata["Name"]
    }
    prefix = "opt/venv/lib/python3/site-packages"
    entries = [
        Entry(f"{prefix}/{file.parent.name}/{file.name}", file.read_bytes())
        for folder in sorted(site.glob("*.dist-info"))
        for file in (folder / "METADATA", folder / "RECORD")
        if file.is_file()
    ]
    warnings: list[str] = []
    inventory = catalog_layers([layer(gz(build_tar(entries)))], warn=warnings.append)

    found = [p for p in inventory.packages if p.type is PackageType.PYPI]
    assert len(truth) > 50
    assert {(normalise_pypi_name(p.name), p.version) for p in found} == truth
    assert all(p.locations[-1].path.endswith("/RECORD") for p in found)
    assert warnings == []
