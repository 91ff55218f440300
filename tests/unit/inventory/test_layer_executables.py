"""Native executables in a layer stream: only those holding a cataloger's marker are kept.

Real binaries: Debian's ``docker-registry`` (Go, carries the build-info magic) and coreutils'
``true`` (C, carries none). A Debian image has hundreds of executables like ``true``; keeping
them all cost memory, a copy, and a slow layer-cache entry.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from inventory_layer_builder import Entry, build_tar, gz, layer

from wharfinger.inventory.catalog import catalog_layers
from wharfinger.inventory.catalogers.binaries import BINARIES, holds_build_metadata, holds_build_metadata_at
from wharfinger.inventory.catalogers.executables import elf_section_names, elf_section_names_at
from wharfinger.inventory.catalogers.gobuildinfo import BUILDINFO_MAGIC
from wharfinger.inventory.layer_input import LayerInput
from wharfinger.inventory.layers import LayeredFS, LayerLimits, Selection, read_layers
from wharfinger.oci.sources.files import BlobLocation

GO_BINARY = Path("/usr/bin/docker-registry")
C_BINARY = Path(shutil.which("true") or "/usr/bin/true")
assert BINARIES.executable_filter is not None
MARKERS = Selection(executable_filters=(BINARIES.executable_filter,))


@pytest.fixture(scope="module")
def binaries() -> tuple[bytes, bytes]:
    if not GO_BINARY.is_file():
        pytest.fail("Debian's docker-registry is missing: run scripts/install-test-deps")
    go, c = GO_BINARY.read_bytes(), C_BINARY.read_bytes()
    assert BUILDINFO_MAGIC in go
    assert not holds_build_metadata(c)
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
    selection = Selection(patterns=("/usr/bin/true",), executable_filters=MARKERS.executable_filters)
    with read_layers([layer(tar)], selection=selection) as fs, fs.open("/usr/bin/true") as f:
        assert f.read() == c


def test_build_metadata_is_judged_by_elf_sections_or_else_by_bytes(
    binaries: tuple[bytes, bytes], tmp_path: Path
) -> None:
    go, _ = binaries
    names = elf_section_names(go)
    assert names is not None
    assert ".go.buildinfo" in names
    assert holds_build_metadata(go)
    # a C program given a cargo-auditable section by the real objcopy
    (tmp_path / "deps.json").write_bytes(b"x")
    rust_like = tmp_path / "true-auditable"
    subprocess.run(
        ["objcopy", "--add-section", f".dep-v0={tmp_path / 'deps.json'}", str(C_BINARY), str(rust_like)], check=True
    )
    assert holds_build_metadata(rust_like.read_bytes())
    # no section table (as after sstrip): only the bytes can tell
    sectionless = bytearray(go)
    sectionless[0x3C:0x3E] = b"\0\0"  # e_shnum = 0
    assert elf_section_names(bytes(sectionless)) is None
    assert holds_build_metadata(bytes(sectionless))
    assert not holds_build_metadata(b"MZ" + b"\0" * 200)
    assert holds_build_metadata(b"MZ" + b"\0" * 200 + BUILDINFO_MAGIC)  # PE: Go keeps it in .data


def test_go_binary_found_in_a_layer_and_c_binaries_ignored(binaries: tuple[bytes, bytes]) -> None:
    go, c = binaries
    tar = build_tar([Entry("usr/local/bin/registry", go, mode=0o755), Entry("usr/bin/true", c, mode=0o755)])
    inventory = catalog_layers([layer(gz(tar))], [BINARIES])
    purls = {p.purl for p in inventory.packages}
    assert any(purl.startswith("pkg:golang/stdlib@") for purl in purls), purls
    assert all(p.locations[0].path == "/usr/local/bin/registry" for p in inventory.packages)


def _real_elf_files() -> list[Path]:
    # the machine's own programs and libraries (Debian, in CI too): real section tables of all sizes
    found = [p for d in ("/usr/bin", "/usr/lib/x86_64-linux-gnu") for p in sorted(Path(d).glob("*"))[:400]]
    return [p for p in found if p.is_file() and not p.is_symlink() and p.read_bytes()[:4] == b"\x7fELF"][:150]


def test_section_names_from_three_reads_agree_with_the_whole_file(binaries: tuple[bytes, bytes]) -> None:
    samples = [*binaries, *(p.read_bytes() for p in _real_elf_files())]
    assert len(samples) > 50
    for data in samples:
        reads: list[tuple[int, int]] = []

        def read(offset: int, size: int, data: bytes = data, reads: list[tuple[int, int]] = reads) -> bytes:
            reads.append((offset, size))
            return data[offset : offset + size]

        assert elf_section_names_at(read, len(data)) == elf_section_names(data)
        assert len(reads) <= 3
        assert holds_build_metadata_at(read, len(data)) in {holds_build_metadata(data), None}


@settings(max_examples=300, deadline=None)
@given(cuts=st.lists(st.tuples(st.integers(0, 200_000), st.binary(min_size=1, max_size=8)), max_size=6))
def test_damaged_elf_headers_agree_too(cuts: list[tuple[int, bytes]]) -> None:
    damaged = bytearray(C_BINARY.read_bytes())
    for offset, patch in cuts:  # bytes overwritten anywhere, section table and header fields included
        damaged[offset % len(damaged) : offset % len(damaged) + len(patch)] = patch
    data = bytes(damaged)
    assert elf_section_names_at(lambda o, n: data[o : o + n], len(data)) == elf_section_names(data)


def test_in_place_layers_keep_the_executables_a_stream_keeps(binaries: tuple[bytes, bytes], tmp_path: Path) -> None:
    go, c = binaries
    sectionless = bytearray(go)
    sectionless[0x3C:0x3E] = b"\0\0"  # e_shnum = 0: the filter needs the bytes
    no_marker_sectionless = bytearray(c)
    no_marker_sectionless[0x3C:0x3E] = b"\0\0"
    entries = [
        Entry("usr/local/bin/registry", go, mode=0o755),
        Entry("usr/bin/true", c, mode=0o755),
        Entry("usr/bin/sstripped-go", bytes(sectionless), mode=0o755),
        Entry("usr/bin/sstripped-c", bytes(no_marker_sectionless), mode=0o755),
        Entry("usr/bin/script", b"#!/bin/sh\necho\n", mode=0o755),
    ]
    tar = build_tar(entries)
    archive = tmp_path / "layer.archive"
    archive.write_bytes(b"h" * 1000 + tar + b"t" * 100)
    digest = "sha256:" + hashlib.sha256(tar).hexdigest()

    def refuse() -> BinaryIO:
        raise AssertionError("read in place, not streamed")

    placed = LayerInput(
        digest=digest,
        media_type="application/vnd.docker.image.rootfs.diff.tar",
        open=refuse,
        size=len(tar),
        location=BlobLocation(path=archive, offset=1000, size=len(tar)),
    )
    for limits in (LayerLimits(), LayerLimits(max_memory_file_bytes=256 * 1024 * 1024)):  # spooled, in memory
        kept: list[dict[str, bytes]] = []
        for source in (layer(gz(tar)), placed):
            with read_layers([source], selection=MARKERS, limits=limits) as fs:
                kept.append({p: fs.read_bytes(p, 1 << 30) for p in fs.walk() if _readable(fs, p)})
        assert kept[0] == kept[1]
        assert set(kept[1]) == {"/usr/local/bin/registry", "/usr/bin/sstripped-go"}


def _readable(fs: LayeredFS, path: str) -> bool:
    try:
        fs.read_bytes(path, 1 << 30)
    except FileNotFoundError:  # in the tree, its content dropped
        return False
    return True


def test_a_section_table_claiming_megabytes_is_not_read() -> None:
    # a hostile header: 65,535 sections of 65,535 bytes each (4 GB) in a 40 MB "executable"
    header = bytearray(C_BINARY.read_bytes()[:64])
    header[0x28:0x30] = (64).to_bytes(8, "little")  # e_shoff
    header[0x3A:0x3C] = (65535).to_bytes(2, "little")  # e_shentsize
    header[0x3C:0x3E] = (600).to_bytes(2, "little")  # e_shnum: 39 MB of table, inside the file
    header[0x3E:0x40] = (1).to_bytes(2, "little")  # e_shstrndx
    length = 40 * 1024 * 1024
    asked: list[int] = []

    def read(offset: int, size: int) -> bytes:
        asked.append(size)
        return bytes(header[offset : offset + size]) if offset < len(header) else b"\0" * min(size, 1 << 20)

    assert elf_section_names_at(read, length) is None  # only the bytes can tell
    assert max(asked) <= 64
