"""Plain-tar layers read in place (``LayerInput.location``): same filesystem as streaming, same refusals.

The layer sits between other bytes of a file, as a member of a docker-archive does. ``open`` refuses
to be called for the in-place layers, so a test passing proves the in-place path ran.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import BinaryIO

import pytest
from inventory_layer_builder import Entry, MemoryStore, build_tar, gz, in_place_layer, layer

from wharfinger.errors import DigestMismatchError, UnsafeArchiveError
from wharfinger.inventory.layers import LayeredFS, LayerLimits, Selection, read_layers

SELECTION = Selection(patterns=("/var/lib/dpkg/status", "**/*.jar"))
BIG = bytes(range(256)) * 8192  # 2 MiB: over the in-memory cap, spooled
LOWER = [
    Entry("etc", kind=tarfile.DIRTYPE, mode=0o755),
    Entry("etc/os-release", b"ID=debian\n"),
    Entry("var/lib/dpkg/status", b"Package: a\nVersion: 1\n"),
    Entry("usr/share/doc/a/" + "long-name-" * 20, b"x" * 70_000),  # a PAX path; content skipped by seeking
    Entry("usr/bin/tool", b"\x7fELF" + b"\0" * 5000, mode=0o755),
    Entry("usr/bin/alias", kind=tarfile.SYMTYPE, link="tool"),
    Entry("usr/bin/hard", kind=tarfile.LNKTYPE, link="usr/bin/tool"),
    Entry("app/lib.jar", BIG),
    Entry("opt/gone", b"deleted above"),
]
UPPER = [Entry("opt/.wh.gone"), Entry("var/lib/dpkg/status", b"Package: a\nVersion: 2\n")]


in_place = in_place_layer


def snapshot(fs: LayeredFS) -> dict[str, object]:
    files = list(fs.walk())
    return {
        "files": files,
        "sizes": [fs.size(p) for p in files],
        "modes": [fs.mode(p) for p in files],
        "kept": {p: fs.read_bytes(p, 1 << 30) for p in files if fs.is_file(p) and kept_by_selection(p)},
        "links": fs.realpath("/usr/bin/alias"),
        "exists": [fs.exists(p) for p in ("/opt/gone", "/usr/bin/hard", "/etc")],
        "warnings": fs.warnings,
    }


def kept_by_selection(path: str) -> bool:
    return path in {"/var/lib/dpkg/status", "/app/lib.jar"}


def test_in_place_gives_the_streamed_filesystem(tmp_path: Path) -> None:
    tars = [build_tar(LOWER), build_tar(UPPER)]
    with read_layers([layer(t) for t in tars], selection=SELECTION) as streamed:
        expected = snapshot(streamed)
    with read_layers([in_place(t, tmp_path) for t in tars], selection=SELECTION) as seeked:
        assert snapshot(seeked) == expected
        assert seeked.read_bytes("/var/lib/dpkg/status", 100) == b"Package: a\nVersion: 2\n"
        with seeked.open("/app/lib.jar") as jar:
            assert jar.read() == BIG
    assert expected["kept"]  # the comparison covers kept contents, not only names


def test_a_byte_changed_in_skipped_content_is_a_digest_mismatch(tmp_path: Path) -> None:
    tar = build_tar(LOWER)
    at = tar.index(b"x" * 70_000) + 1234  # inside a file nobody selected: only the hash sees it
    altered = tar[:at] + b"y" + tar[at + 1 :]
    with pytest.raises(DigestMismatchError, match="does not match its digest"):
        read_layers([in_place(altered, tmp_path, digest_of=tar)], selection=SELECTION)


def test_a_damaged_header_is_reported_as_the_digest_mismatch_it_is(tmp_path: Path) -> None:
    tar = build_tar(LOWER)
    altered = b"\xff" + tar[1:]  # the first header's checksum fails: the parse stops at once
    with pytest.raises(DigestMismatchError) as caught:
        read_layers([in_place(altered, tmp_path, digest_of=tar)], selection=SELECTION)
    assert isinstance(caught.value.__cause__, UnsafeArchiveError)


def test_a_file_shorter_than_the_location_is_a_clear_error(tmp_path: Path) -> None:
    tar = build_tar(LOWER)
    located = in_place(tar, tmp_path)
    assert located.location is not None
    with located.location.path.open("r+b") as f:
        f.truncate(located.location.offset + len(tar) // 2)
    with pytest.raises(UnsafeArchiveError, match="is truncated"):
        read_layers([located], selection=SELECTION)


def test_compressed_layers_with_a_location_are_streamed(tmp_path: Path) -> None:
    blob = gz(build_tar(LOWER))
    opened: list[bool] = []

    def opener() -> BinaryIO:
        opened.append(True)
        return io.BytesIO(blob)

    with read_layers([in_place(blob, tmp_path, opener=opener)], selection=SELECTION) as fs:
        assert fs.read_bytes("/var/lib/dpkg/status", 100) == b"Package: a\nVersion: 1\n"
    assert opened


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (LayerLimits(max_layer_bytes=1024 * 1024), "expands past 1048576 bytes"),
        (LayerLimits(max_total_bytes=3 * 1024 * 1024), "the image expands past"),
        (LayerLimits(max_entries_per_layer=3), "more than 3 entries"),
    ],
)
def test_limits_hold_in_place(tmp_path: Path, limits: LayerLimits, message: str) -> None:
    tars = [build_tar(LOWER), build_tar([Entry("big", BIG)])]
    with pytest.raises(UnsafeArchiveError, match=message):
        read_layers([in_place(t, tmp_path) for t in tars], selection=SELECTION, limits=limits, parallel=1)


def test_hostile_entries_are_skipped_in_place(tmp_path: Path) -> None:
    tar = build_tar([Entry("../escape", b"x"), Entry("ok", b"y")])
    with read_layers([in_place(tar, tmp_path)], selection=SELECTION) as fs:
        assert list(fs.walk()) == ["/ok"]
        assert any("escape" in w for w in fs.warnings)


def test_deferred_verification_gives_the_same_filesystem_and_stores_after_the_block(tmp_path: Path) -> None:
    tars = [build_tar(LOWER), build_tar(UPPER)]
    with read_layers([in_place(t, tmp_path) for t in tars], selection=SELECTION) as checked:
        expected = snapshot(checked)
    store = MemoryStore()
    with read_layers(
        [in_place(t, tmp_path) for t in tars], selection=SELECTION, store=store, defer_verification=True
    ) as deferred:
        assert snapshot(deferred) == expected
    assert len(store.layers) == 2  # both layers confirmed, then stored
    # the indexes encoded beside the parse are those a streamed read stores
    streamed = MemoryStore()
    with read_layers([layer(t) for t in tars], selection=SELECTION, store=streamed):
        pass
    assert store.layers == streamed.layers


def test_an_interrupted_block_stores_nothing(tmp_path: Path) -> None:
    store = MemoryStore()
    layers = [in_place(build_tar(entries), tmp_path) for entries in (LOWER, UPPER)]
    with (
        pytest.raises(KeyboardInterrupt),
        read_layers(layers, selection=SELECTION, store=store, defer_verification=True),
    ):
        raise KeyboardInterrupt
    assert store.layers == {}  # stored only by a confirmation, which Ctrl-C skips


def test_deferred_verification_refuses_the_layer_when_the_block_is_left(tmp_path: Path) -> None:
    tar = build_tar(LOWER)
    at = tar.index(b"x" * 70_000) + 1234
    altered = tar[:at] + b"y" + tar[at + 1 :]
    store = MemoryStore()
    used = []
    layers = [in_place(altered, tmp_path, digest_of=tar)]
    with (
        pytest.raises(DigestMismatchError, match="does not match its digest"),
        read_layers(layers, selection=SELECTION, store=store, defer_verification=True) as fs,
    ):
        used.append(fs.read_bytes("/var/lib/dpkg/status", 100))
    assert used  # the block ran on the parsed layer; its result is dropped with the error
    assert store.layers == {}  # nothing of the altered layer was stored


def test_a_mismatch_supersedes_an_error_raised_in_the_block(tmp_path: Path) -> None:
    tar = build_tar(LOWER)
    at = tar.index(b"x" * 70_000) + 1234
    altered = tar[:at] + b"y" + tar[at + 1 :]
    layers = [in_place(altered, tmp_path, digest_of=tar)]
    with (
        pytest.raises(DigestMismatchError) as caught,
        read_layers(layers, selection=SELECTION, defer_verification=True),
    ):
        raise ValueError("a cataloger choked on the altered bytes")
    assert isinstance(caught.value.__context__, ValueError)


def test_catalog_layers_stores_nothing_from_an_altered_layer(tmp_path: Path) -> None:
    from wharfinger.inventory.cache import InventoryCache
    from wharfinger.inventory.catalog import catalog_layers

    tar = build_tar(LOWER)
    at = tar.index(b"x" * 70_000) + 1234
    altered = tar[:at] + b"y" + tar[at + 1 :]
    cache = InventoryCache(tmp_path / "cache")
    with pytest.raises(DigestMismatchError):
        catalog_layers([in_place(altered, tmp_path, digest_of=tar)], store=cache)
    good = catalog_layers([in_place(tar, tmp_path)], store=cache)  # the genuine layer: catalogued afresh

    def refuse_open() -> BinaryIO:
        raise AssertionError("the genuine layer's index must have been stored")

    again = catalog_layers([in_place(tar, tmp_path, opener=refuse_open)], store=cache)
    assert again == good
    cache.close()
