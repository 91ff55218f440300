"""Layers read in place (seeking, hashed by a second thread) against the streaming path.

The docker-archive is what ``skopeo copy … docker-archive:`` writes for the two-layer Debian
image: uncompressed layers, verified against the config's diff_ids. The same image with plain-tar
layers is also read as an OCI layout and as an oci-archive (``tar`` of that layout).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from wharfinger.errors import DigestMismatchError
from wharfinger.inventory.catalog import Inventory, catalog_layers
from wharfinger.inventory.layer_input import LayerInput
from wharfinger.inventory.sources import inventory_of_source
from wharfinger.oci.manifest import Descriptor
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources import ImageSource, open_source, parse_source
from wharfinger.oci.sources.base import BlobLocator

pytestmark = pytest.mark.slow

SETTINGS = Settings()
RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def debian_archive(two_layer_layout: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("skopeo") is None:
        pytest.fail("skopeo is not installed; run scripts/install-test-deps")
    archive = tmp_path_factory.mktemp("docker-archive") / "debian.tar"
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "-q", f"oci:{two_layer_layout}:latest",
         f"docker-archive:{archive}:example.com/debian:12"],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return archive


@contextmanager
def archive_layers(archive: Path | str, *, in_place: bool) -> Iterator[list[LayerInput]]:
    """The image's layers, located (``open`` then refuses: the in-place path must not call it) or not."""
    text = archive if isinstance(archive, str) else f"docker-archive:{archive}"
    source: ImageSource = open_source(parse_source(text), settings=SETTINGS)
    try:
        image = source.resolve()
        assert isinstance(source, BlobLocator)

        def refuse() -> BinaryIO:
            raise AssertionError("a located plain-tar layer is read in place")

        def opener(descriptor: Descriptor) -> Callable[[], BinaryIO]:
            return lambda: source.open_blob(descriptor)

        yield [
            LayerInput(
                digest=d.digest,
                media_type=d.media_type,
                open=refuse if in_place else opener(d),
                size=d.size,
                location=source.locate_blob(d) if in_place else None,
            )
            for d in image.layers
        ]
    finally:
        source.close()


def inventory(archive: Path | str, *, in_place: bool) -> Inventory:
    with archive_layers(archive, in_place=in_place) as layers:
        if in_place:
            assert all(layer.location is not None for layer in layers)
        return catalog_layers(layers, store=None)


def test_in_place_inventory_equals_streamed(debian_archive: Path) -> None:
    streamed = inventory(debian_archive, in_place=False)
    assert len(streamed.packages) > 100  # a real Debian image, not an empty comparison
    assert inventory(debian_archive, in_place=True) == streamed
    # the CLI's path (sources.py) locates the layers itself
    assert inventory_of_source(f"docker-archive:{debian_archive}", settings=SETTINGS, use_cache=False)[0] == streamed


def test_layout_and_oci_archive_in_place_equal_streamed(plain_two_layer_layout: Path, tmp_path: Path) -> None:
    oci_archive = tmp_path / "oci.tar"
    subprocess.run(["tar", "-C", str(plain_two_layer_layout), "-cf", str(oci_archive), "."], check=True)
    for text in (f"oci:{plain_two_layer_layout}:latest", f"oci-archive:{oci_archive}"):
        streamed = inventory(text, in_place=False)
        assert len(streamed.packages) > 100
        assert inventory(text, in_place=True) == streamed, text
        assert inventory_of_source(text, settings=SETTINGS, use_cache=False)[0] == streamed, text


def _unselected_content_offset(archive: Path) -> int:
    """The archive offset of a byte inside a file of the last layer that no cataloger reads."""
    with archive_layers(archive, in_place=True) as layers:
        location = layers[-1].location
        assert location is not None
        with location.path.open("rb") as f:
            f.seek(location.offset)
            layer = io.BytesIO(f.read(location.size))
    with tarfile.open(fileobj=layer) as tar:
        for member in tar:
            # a man page: no cataloger globs for it, and without an execute bit it is no executable either
            if member.isreg() and "/man/" in member.name and member.size > 100 and not member.mode & 0o111:
                return location.offset + member.offset_data + member.size // 2
    raise AssertionError("no man page in the layer")


def test_a_byte_changed_in_unread_content_is_refused(debian_archive: Path, tmp_path: Path, run_cli: RunCli) -> None:
    altered = tmp_path / "altered.tar"
    shutil.copyfile(debian_archive, altered)
    at = _unselected_content_offset(altered)
    with altered.open("r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(DigestMismatchError, match="does not match its digest"):
        inventory(altered, in_place=True)
    done = run_cli("sbom", "--no-cache", f"docker-archive:{altered}")
    assert done.returncode != 0
    assert "does not match its digest" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_truncated_archive_is_a_clear_error(debian_archive: Path, tmp_path: Path, run_cli: RunCli) -> None:
    truncated = tmp_path / "truncated.tar"
    with archive_layers(debian_archive, in_place=True) as layers:
        location = layers[-1].location
        assert location is not None
    with debian_archive.open("rb") as src, truncated.open("wb") as dst:
        dst.write(src.read(location.offset + location.size // 2))  # the last layer ends half-way
    done = run_cli("sbom", "--no-cache", f"docker-archive:{truncated}")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert "truncated" in done.stderr or "unexpected end of data" in done.stderr, done.stderr
