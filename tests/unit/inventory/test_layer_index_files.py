"""Large selected contents in the layer cache: kept as files beside the index, not packed into it.

A layer read again from the cache must give the same contents without being opened; a file of the
cache that went missing or changed size makes the layer a miss (read again), never a wrong answer.
"""

from __future__ import annotations

import errno
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import pytest
from inventory_layer_builder import Entry, MemoryStore, build_tar, gz, in_place_layer, layer

from wharfinger.inventory.cache import InventoryCache
from wharfinger.inventory.layer_input import LayerInput
from wharfinger.inventory.layers import Selection, read_layers

LARGE = os.urandom(3 * 1024 * 1024)  # over the in-memory cap: spooled, then cached as a file
PROGRAM = os.urandom(2 * 1024 * 1024)
SMALL = b"Package: a\nVersion: 1\n"
SELECTION = Selection(patterns=("/var/lib/dpkg/status", "/opt/*.bin"))
TAR = build_tar([Entry("var/lib/dpkg/status", SMALL), Entry("opt/large.bin", LARGE), Entry("opt/program.bin", PROGRAM)])


def refused() -> BinaryIO:
    raise AssertionError("a layer served by the cache must not be opened")


def from_cache(digest: str) -> LayerInput:
    return LayerInput(digest=digest, media_type="application/vnd.oci.image.layer.v1.tar+gzip", open=refused)


def contents(store: MemoryStore | InventoryCache, digest: str) -> dict[str, bytes]:
    with read_layers([from_cache(digest)], selection=SELECTION, store=store) as fs:
        return {
            path: fs.read_bytes(path, 1 << 30)
            for path in ("/var/lib/dpkg/status", "/opt/large.bin", "/opt/program.bin")
        }


@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_large_contents_are_files_beside_the_index(tmp_path: Path, stored: str) -> None:
    source = layer(gz(TAR)) if stored == "streamed" else in_place_layer(TAR, tmp_path)
    store = MemoryStore()
    with read_layers([source], selection=SELECTION, store=store):
        pass
    ((key, value),) = store.layers.items()
    packed = zlib.decompress(value)
    assert SMALL in packed
    assert LARGE[:4096] not in packed  # not packed: a file of its own
    assert PROGRAM[:4096] not in packed
    assert sorted(p.read_bytes() for p in store.layer_files(key).iterdir()) == sorted([LARGE, PROGRAM])
    assert contents(store, source.digest) == {
        "/var/lib/dpkg/status": SMALL,
        "/opt/large.bin": LARGE,
        "/opt/program.bin": PROGRAM,
    }


@pytest.mark.parametrize("damage", ["removed", "truncated", "grown"])
def test_a_damaged_file_makes_the_layer_a_miss(damage: str) -> None:
    source = layer(gz(TAR))
    store = MemoryStore()
    with read_layers([source], selection=SELECTION, store=store):
        pass
    (key,) = store.layers
    victim = next(p for p in store.layer_files(key).iterdir() if p.read_bytes() == LARGE)
    if damage == "removed":
        victim.unlink()
    elif damage == "truncated":
        victim.write_bytes(LARGE[:1000])
    else:
        victim.write_bytes(LARGE + b"!")
    with pytest.raises(AssertionError, match="must not be opened"):
        contents(store, source.digest)  # a miss: the layer is needed again, and this one refuses to open
    with read_layers([source], selection=SELECTION, store=store) as fs:  # read again, stored again
        assert fs.read_bytes("/opt/large.bin", 1 << 30) == LARGE
    assert contents(store, source.digest)["/opt/large.bin"] == LARGE


@pytest.mark.parametrize("can_link", [True, False], ids=["same file system", "across file systems"])
def test_the_inventory_cache_keeps_the_spooled_files(
    tmp_path: Path, can_link: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def cross_device(source: object, target: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    if not can_link:
        monkeypatch.setattr(os, "link", cross_device)
    spool = tmp_path / "spool"
    spool.write_bytes(LARGE)
    spooled_inode = spool.stat().st_ino
    cache = InventoryCache(tmp_path / "cache")
    cache.put_layer("k", b"index", [spool])
    kept = cache.layer_files("k") / "0"
    assert (kept.stat().st_ino == spooled_inode) is can_link  # a hard link where it can be: no copy
    spool.unlink()  # the reader's spool goes when its filesystem is closed; the cache's file stays
    assert kept.read_bytes() == LARGE
    assert cache.get_layer("k") == b"index"
    cache.close()


def test_no_index_is_stored_without_its_files(tmp_path: Path) -> None:
    cache = InventoryCache(tmp_path / "cache")
    cache.put_layer("k", b"index", [tmp_path / "gone"])  # the spool vanished: nothing may be stored
    assert cache.get_layer("k") is None
    assert not cache.layer_files("k").exists()
    assert not list((tmp_path / "cache" / "layer-files").iterdir())  # no staging left behind
    cache.close()


def test_a_layer_stored_again_replaces_its_files_whole(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.write_bytes(LARGE)
    second.write_bytes(PROGRAM)
    cache = InventoryCache(tmp_path / "cache")
    cache.put_layer("k", b"index", [first, second])
    cache.put_layer("k", b"index", [second])  # read again after a damaged entry
    assert sorted(p.name for p in cache.layer_files("k").iterdir()) == ["0"]
    assert (cache.layer_files("k") / "0").read_bytes() == PROGRAM
    cache.close()


def test_the_inventory_cache_serves_large_contents_across_runs(tmp_path: Path) -> None:
    source = in_place_layer(TAR, tmp_path)
    cache = InventoryCache(tmp_path / "cache")
    with read_layers([source], selection=SELECTION, store=cache):
        pass
    cache.close()
    again = InventoryCache(tmp_path / "cache")  # another run: the reader's spool is long gone
    assert contents(again, source.digest)["/opt/program.bin"] == PROGRAM
    again.close()


def test_stats_read_without_writing(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    assert InventoryCache(directory).stats().inventories == 0
    assert not directory.exists()  # `cache info` on a machine that never cached creates nothing
    cache = InventoryCache(directory)
    cache.put_layer("k", b"index")
    cache.close()
    before = cache.path.read_bytes()
    assert (InventoryCache(directory).stats().layers, cache.path.read_bytes()) == (1, before)
    cache.path.write_bytes(b"SQLite format 3\0" + b"\xff" * 4096)  # damaged: counted empty, left for its next use
    assert InventoryCache(directory).stats().layers == 0
    assert cache.path.exists()


def test_clear_removes_a_hot_journal_too(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.write_bytes(PROGRAM)
    cache = InventoryCache(tmp_path / "cache")
    cache.put_layer("k", b"index", [spool])
    journal = Path(f"{cache.path}-journal")
    journal.write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\0" * 504)  # what a crash mid-write leaves
    cache.clear()
    assert not journal.exists()  # it would be rolled back into the next database of that name
    assert not cache.path.exists()
    assert not cache.layer_files("k").exists()
    assert cache.get_layer("k") is None  # and the cache works again from empty
