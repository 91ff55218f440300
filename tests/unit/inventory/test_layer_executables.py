"""Native executables in a layer stream: only those holding a cataloger's marker are kept.

Real binaries: Debian's ``docker-registry`` (Go, carries the build-info magic) and coreutils'
``true`` (C, carries none). A Debian image has hundreds of executables like ``true``; keeping
them all cost memory, a copy, and a slow layer-cache entry.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from inventory_layer_builder import Entry, build_tar, gz, layer

from wharfinger.inventory.catalog import catalog_layers
from wharfinger.inventory.catalogers.binaries import BINARIES
from wharfinger.inventory.catalogers.gobuildinfo import BUILDINFO_MAGIC
from wharfinger.inventory.layers import LayerLimits, Selection, _MarkerScanner, read_layers

GO_BINARY = Path("/usr/bin/docker-registry")
C_BINARY = Path(shutil.which("true") or "/usr/bin/true")
MARKERS = Selection(executable_markers=BINARIES.executable_markers)


@pytest.fixture(scope="module")
def binaries() -> tuple[bytes, bytes]:
    if not GO_BINARY.is_file():
        pytest.fail("Debian's docker-registry is missing: run scripts/install-test-deps")
    go, c = GO_BINARY.read_bytes(), C_BINARY.read_bytes()
    assert BUILDINFO_MAGIC in go
    assert not any(marker in c for marker in BINARIES.executable_markers)
    return go, c


@pytest.mark.parametrize(
    "limits",
    [LayerLimits(), LayerLimits(max_memory_file_bytes=256 * 1024 * 1024)],
    ids=["spooled", "in-memory"],
)
def test_only_executables_with_a_marker_keep_their_content(binaries: tuple[bytes, bytes], limits: LayerLimits) -> None:
    go, c = binaries
    tar = build_tar(
        [
            Entry("usr/local/bin/registry", go, mode=0o755),
            Entry("usr/bin/true", c, mode=0o755),
            Entry("usr/share/registry.copy", go, mode=0o644),  # no execute bit: not an executable
        ]
    )
    with read_layers([layer(gz(tar))], selection=MARKERS, limits=limits) as fs:
        with fs.open("/usr/local/bin/registry") as kept:
            assert kept.read() == go
        assert fs.size("/usr/bin/true") == len(c)  # still in the tree, its content dropped
        for dropped in ("/usr/bin/true", "/usr/share/registry.copy"):
            with pytest.raises(FileNotFoundError, match="not selected"):
                fs.open(dropped)


def test_a_path_selected_executable_is_kept_without_a_marker(binaries: tuple[bytes, bytes]) -> None:
    _, c = binaries
    tar = build_tar([Entry("usr/bin/true", c, mode=0o755)])
    selection = Selection(patterns=("/usr/bin/true",), executable_markers=BINARIES.executable_markers)
    with read_layers([layer(tar)], selection=selection) as fs, fs.open("/usr/bin/true") as f:
        assert f.read() == c


def test_a_marker_split_across_two_writes_is_seen() -> None:
    magic = BUILDINFO_MAGIC
    for cut in range(1, len(magic)):
        sink = io.BytesIO()
        scanner = _MarkerScanner(sink, (b".dep-v0", magic))
        scanner.write(b"\0" * 100 + magic[:cut])
        assert not scanner.found
        scanner.write(memoryview(magic[cut:] + b"\0" * 100))
        assert scanner.found, cut
        assert sink.getvalue() == b"\0" * 100 + magic + b"\0" * 100
    unmarked = _MarkerScanner(io.BytesIO(), (magic,))
    unmarked.write(magic[:-1])
    unmarked.write(b"x" + magic[1:])
    assert not unmarked.found


def test_go_binary_found_in_a_layer_and_c_binaries_ignored(binaries: tuple[bytes, bytes]) -> None:
    go, c = binaries
    tar = build_tar([Entry("usr/local/bin/registry", go, mode=0o755), Entry("usr/bin/true", c, mode=0o755)])
    inventory = catalog_layers([layer(gz(tar))], [BINARIES])
    purls = {p.purl for p in inventory.packages}
    assert any(purl.startswith("pkg:golang/stdlib@") for purl in purls), purls
    assert all(p.locations[0].path == "/usr/local/bin/registry" for p in inventory.packages)
