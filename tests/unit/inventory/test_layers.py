from __future__ import annotations

import tarfile
import zlib
from pathlib import Path
from typing import BinaryIO

import pytest
import zstandard
from inventory_layer_builder import Entry, MemoryStore, build_tar, gz, in_place_layer, layer, stored_layers

from wharfinger.errors import UnsafeArchiveError
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.layer_input import LayerInput
from wharfinger.inventory.layers import LayerLimits, Selection, read_layers

ALL = Selection(patterns=("**",))
DIR = tarfile.DIRTYPE
SYM = tarfile.SYMTYPE
LNK = tarfile.LNKTYPE


def test_layers_apply_in_order_with_whiteouts() -> None:
    base = build_tar(
        [
            Entry("etc/", kind=DIR),
            Entry("etc/os-release", b"ID=debian\n"),
            Entry("opt/app/a.txt", b"a"),
            Entry("opt/app/sub/b.txt", b"b"),
            Entry("var/x", b"x"),
            Entry("var/y", b"y"),
        ]
    )
    top = build_tar(
        [
            Entry("etc/os-release", b"ID=alpine\n"),
            Entry("opt/app/.wh..wh..opq"),
            Entry("opt/app/new.txt", b"new"),
            Entry("var/.wh.x"),
        ]
    )
    with read_layers([layer(gz(base)), layer(top, "application/vnd.oci.image.layer.v1.tar")], selection=ALL) as fs:
        assert isinstance(fs, ImageFS)
        assert list(fs.walk()) == ["/etc/os-release", "/opt/app/new.txt", "/var/y"]
        assert fs.read_bytes("/etc/os-release", 100) == b"ID=alpine\n"
        assert fs.layer_of("/etc/os-release") == fs.digests[1]
        assert fs.layer_of("/var/y") == fs.digests[0]
        assert not fs.exists("/opt/app/sub/b.txt")
        assert fs.listdir("/opt/app") == ["new.txt"]
        before = fs.at_layer(0)
        assert before.read_bytes("/etc/os-release", 100) == b"ID=debian\n"
        assert before.exists("/var/x")
        assert before.exists("/opt/app/sub/b.txt")


def test_whiteout_of_a_directory_removes_its_subtree_but_not_same_layer_entries() -> None:
    base = build_tar([Entry("usr/lib/python3/x.py", b"1"), Entry("usr/lib/python3/d/y.py", b"2")])
    # the whiteout comes after the new entry in the tar: it still only hides lower layers
    top = build_tar([Entry("usr/lib/python3/z.py", b"3"), Entry("usr/lib/.wh.python3")])
    with read_layers([layer(base), layer(top)], selection=ALL) as fs:
        assert list(fs.walk()) == ["/usr/lib/python3/z.py"]


def test_symlinks_and_hardlinks_stay_inside_the_root() -> None:
    tar = build_tar(
        [
            Entry("usr/lib/os-release", b"ID=wolfi\n"),
            Entry("etc/os-release", kind=SYM, link="../usr/lib/os-release"),
            Entry("etc/escape", kind=SYM, link="../../../../../etc/passwd"),
            Entry("etc/passwd", b"root:x:0:0\n"),
            Entry("bin/hard", kind=LNK, link="usr/lib/os-release"),
        ]
    )
    with read_layers([layer(gz(tar))], selection=ALL) as fs:
        assert fs.read_bytes("/etc/os-release", 100) == b"ID=wolfi\n"
        assert fs.realpath("/etc/escape") == "/etc/passwd"  # the image's file, never the host's
        assert fs.read_bytes("/bin/hard", 100) == b"ID=wolfi\n"


def test_only_selected_contents_are_kept() -> None:
    tar = build_tar([Entry("var/lib/dpkg/status", b"Package: a\n"), Entry("usr/bin/big", b"\0" * 10_000)])
    with read_layers([layer(tar)], selection=Selection(patterns=("/var/lib/dpkg/status",))) as fs:
        assert fs.read_bytes("/var/lib/dpkg/status", 100) == b"Package: a\n"
        assert fs.size("/usr/bin/big") == 10_000
        with pytest.raises(FileNotFoundError, match="not selected"):
            fs.read_bytes("/usr/bin/big", 100_000)


def test_large_selected_files_are_spooled_and_removed_on_close() -> None:
    payload = bytes(range(256)) * 8192  # 2 MiB, over the in-memory cap
    tar = build_tar([Entry("app/lib.jar", payload)])
    fs = read_layers([layer(gz(tar))], selection=Selection(patterns=("**/*.jar",)))
    with fs.open("/app/lib.jar") as f:
        assert f.read() == payload
    spool = fs._spool_dir
    assert spool is not None
    assert any(spool.iterdir())
    fs.close()
    assert not spool.exists()


def test_zstd_layers_are_detected_by_magic_not_media_type() -> None:
    tar = build_tar([Entry("etc/alpine-release", b"3.19.1\n")])
    blob = zstandard.ZstdCompressor().compress(tar)
    with read_layers([layer(blob, "application/vnd.oci.image.layer.v1.tar+gzip")], selection=ALL) as fs:
        assert fs.read_bytes("/etc/alpine-release", 100) == b"3.19.1\n"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (Entry("../../etc/shadow", b"x"), "path traversal"),
        (Entry("a/../../b", b"x"), "path traversal"),
        (Entry("/etc/passwd", b"x"), "absolute paths"),
        (Entry("dev/sda", kind=tarfile.BLKTYPE), "device files"),
        (Entry("dev/null", kind=tarfile.CHRTYPE), "device files"),
        (Entry("run/fifo", kind=tarfile.FIFOTYPE), "device files"),
    ],
    ids=["dotdot", "inner-dotdot", "absolute", "block", "char", "fifo"],
)
def test_hostile_entries_are_skipped_with_a_warning(entry: Entry, message: str) -> None:
    tar = build_tar([entry, Entry("ok.txt", b"fine")])
    warnings: list[str] = []
    with read_layers([layer(tar)], selection=ALL, warn=warnings.append) as fs:
        assert list(fs.walk()) == ["/ok.txt"]
    assert any(message in w for w in warnings), warnings


def test_decompression_bomb_ratio_is_refused() -> None:
    tar = build_tar([Entry("zeros", b"\0" * (8 * 1024 * 1024))])
    blob = gz(tar)
    limits = LayerLimits(ratio_check_after_bytes=1024 * 1024, max_compression_ratio=50)
    with pytest.raises(UnsafeArchiveError, match="expands more than 50x"):
        read_layers([layer(blob)], selection=ALL, limits=limits)


def test_total_size_limit_is_refused() -> None:
    tar = build_tar([Entry("big", b"\1" * (3 * 1024 * 1024))])
    with pytest.raises(UnsafeArchiveError, match="expands past"):
        read_layers([layer(gz(tar))], selection=ALL, limits=LayerLimits(max_layer_bytes=2 * 1024 * 1024))


def test_entry_flood_is_refused() -> None:
    tar = build_tar([Entry(f"f{i}", b"") for i in range(120)])
    with pytest.raises(UnsafeArchiveError, match="more than 100 entries"):
        read_layers([layer(tar)], selection=ALL, limits=LayerLimits(max_entries_per_layer=100))


def test_an_entry_flood_is_stopped_soon_after_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries are counted against the limits a few hundred at a time: a flood is refused within
    one batch of its limit, not after the whole layer was read."""
    import wharfinger.inventory.layers as layers_module

    seen: list[str] = []
    checked = layers_module._safe_member_path
    monkeypatch.setattr(
        layers_module, "_safe_member_path", lambda name, *rest: seen.append(name) or checked(name, *rest)
    )
    tar = build_tar([Entry(f"f{i}", b"") for i in range(20_000)])
    with pytest.raises(UnsafeArchiveError, match="more than 1000 entries"):
        read_layers([layer(tar)], selection=ALL, limits=LayerLimits(max_entries_per_layer=1000))
    assert 1000 <= len(seen) <= 1000 + layers_module._ENTRIES_PER_COUNT


def test_entries_of_all_layers_count_against_the_total() -> None:
    layers = [layer(build_tar([Entry(f"l{n}/f{i}", b"") for i in range(200)])) for n in range(2)]
    with read_layers(layers[:1], selection=ALL, limits=LayerLimits(max_entries_total=300)) as fs:
        assert len(list(fs.walk())) == 200
    with pytest.raises(UnsafeArchiveError, match="more than 300 entries"):
        read_layers(layers, selection=ALL, limits=LayerLimits(max_entries_total=300), parallel=1)


def test_corrupt_gzip_is_a_clear_error() -> None:
    blob = gz(build_tar([Entry("a", b"a" * 10000)]))
    truncated = blob[: len(blob) // 2]
    with pytest.raises(UnsafeArchiveError, match=r"cannot be decompressed|not a valid tar"):
        read_layers([layer(truncated)], selection=ALL)


def test_not_a_tar_is_a_clear_error() -> None:
    with pytest.raises(UnsafeArchiveError, match="not a valid tar"):
        read_layers([layer(zlib.compress(b"hello") * 100)], selection=ALL)


def test_layer_index_cache_skips_shared_base_layers(tmp_path) -> None:
    from wharfinger.inventory.cache import InventoryCache
    from wharfinger.inventory.layer_input import LayerInput

    base = gz(build_tar([Entry("etc/os-release", b"ID=debian\n"), Entry("var/lib/dpkg/status", b"Package: a\n")]))
    app_one = gz(build_tar([Entry("app/one.txt", b"1"), Entry("var/lib/.wh.dpkg")]))
    app_two = gz(build_tar([Entry("app/two.txt", b"2")]))
    selection = Selection(patterns=("/etc/os-release", "/var/lib/dpkg/status"))
    store = InventoryCache(tmp_path / "cache")
    with read_layers([layer(base), layer(app_one)], selection=selection, store=store) as first:
        assert list(first.walk()) == ["/app/one.txt", "/etc/os-release"]
    opened: list[str] = []

    def tracked(blob: bytes) -> LayerInput:
        plain = layer(blob)

        def open_blob():
            opened.append(plain.digest)
            return plain.open()

        return LayerInput(digest=plain.digest, media_type=plain.media_type, open=open_blob)

    with read_layers([tracked(base), tracked(app_two)], selection=selection, store=store) as second:
        assert opened == [layer(app_two).digest]  # the shared base layer came from the cache
        assert second.read_bytes("/var/lib/dpkg/status", 100) == b"Package: a\n"
        assert second.layer_of("/var/lib/dpkg/status") == layer(base).digest
        assert list(second.walk()) == ["/app/two.txt", "/etc/os-release", "/var/lib/dpkg/status"]
    # another selection is another key: the layer is read again
    opened.clear()
    with read_layers([tracked(base)], selection=Selection(patterns=("**",)), store=store) as third:
        assert opened == [layer(base).digest]
        assert third.read_bytes("/etc/os-release", 100) == b"ID=debian\n"


def test_layer_index_cache_keeps_spooled_database(tmp_path) -> None:
    from wharfinger.inventory.cache import InventoryCache
    from wharfinger.inventory.layer_input import LayerInput

    database = bytes(range(256)) * 8192  # 2 MiB: spooled, like a real rpmdb.sqlite
    blob = gz(build_tar([Entry("var/lib/rpm/rpmdb.sqlite", database)]))
    selection = Selection(patterns=("/var/lib/rpm/rpmdb.sqlite",))
    store = InventoryCache(tmp_path / "cache")
    with read_layers([layer(blob)], selection=selection, store=store) as first:
        assert first.read_bytes("/var/lib/rpm/rpmdb.sqlite", 4 << 20) == database

    def refuse():
        raise AssertionError("the cached layer must not be opened")

    cached = LayerInput(digest=layer(blob).digest, media_type="x", open=refuse)
    with read_layers([cached], selection=selection, store=store) as second:
        assert second.read_bytes("/var/lib/rpm/rpmdb.sqlite", 4 << 20) == database


def test_a_selected_hardlink_to_an_unselected_file_reads_its_content(tmp_path: Path) -> None:
    """The stream had passed the target when the link came: the layer is read again for it, so a
    link cannot hide the dpkg database (streamed, in place, and from the layer cache)."""
    status = b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\n"
    tar = build_tar(
        [
            Entry("opt/app/data.bin", status),
            Entry("opt/app/other.bin", b"x" * 5000),
            Entry("var/lib/dpkg/status", kind=LNK, link="opt/app/data.bin"),
        ]
    )
    selection = Selection(patterns=("/var/lib/dpkg/status",))
    store = MemoryStore()
    for source in (layer(gz(tar)), in_place_layer(tar, tmp_path)):
        with read_layers([source], selection=selection, store=store) as fs:
            assert fs.read_bytes("/var/lib/dpkg/status", 1000) == status
            assert fs.size("/opt/app/data.bin") == len(status)
            assert fs.size("/opt/app/other.bin") == 5000
            assert not any("was not kept" in w for w in fs.warnings)

    def refuse():
        raise AssertionError("a stored layer must not be opened")

    cached = LayerInput(digest=layer(gz(tar)).digest, media_type="x", open=refuse)
    with read_layers([cached], selection=selection, store=store) as fs:
        assert fs.read_bytes("/var/lib/dpkg/status", 1000) == status
    from wharfinger.inventory.catalog import catalog_layers

    inventory = catalog_layers([layer(gz(tar))], store=None)
    assert [(p.name, p.version) for p in inventory.packages] == [("bash", "5.2.15-2+b2")]


def test_glob_answers_for_selected_and_unselected_patterns() -> None:
    tar = build_tar(
        [
            Entry("var/lib/dpkg/status", b"Package: a\n"),
            Entry("usr/share/doc/a/copyright", b"MIT"),
            Entry("usr/share/doc/a/README.txt", b"hi"),
        ]
    )
    selection = Selection(patterns=("/var/lib/dpkg/status", "/usr/share/doc/*/copyright"))
    with read_layers([layer(tar)], selection=selection) as fs:
        assert list(fs.glob(["/usr/share/doc/*/copyright"])) == ["/usr/share/doc/a/copyright"]
        assert sorted(fs.glob(selection.patterns)) == ["/usr/share/doc/a/copyright", "/var/lib/dpkg/status"]
        assert list(fs.glob(["**/*.txt"])) == ["/usr/share/doc/a/README.txt"]  # not selected: the whole tree
        assert list(fs.at_layer(0).glob(["/var/lib/dpkg/status"])) == ["/var/lib/dpkg/status"]


def test_a_damaged_inventory_cache_is_started_afresh(tmp_path) -> None:
    from wharfinger.inventory.cache import InventoryCache

    tar = build_tar([Entry("etc/os-release", b"ID=debian\nVERSION_ID=12\n")])
    selection = Selection(patterns=("/etc/os-release",))
    cache = InventoryCache(tmp_path)
    with read_layers([layer(tar)], selection=selection, store=cache):
        pass
    cache.close()
    assert cache.path.stat().st_size > 0
    cache.path.write_bytes(b"SQLite format 3\0" + b"\xff" * 4096)  # what a torn write can leave behind
    for suffix in ("-wal", "-shm"):
        Path(f"{cache.path}{suffix}").unlink(missing_ok=True)
    again = InventoryCache(tmp_path)
    with read_layers([layer(tar)], selection=selection, store=again) as fs:
        assert fs.read_bytes("/etc/os-release", 100).startswith(b"ID=debian")
    assert again.get_layer("layer1:missing") is None
    again.close()
    third = InventoryCache(tmp_path)  # the rebuilt file serves the layer index: nothing is read again
    key = next(iter(third._connect().execute("SELECT key FROM layers")))[0]
    assert third.get_layer(key) is not None
    third.close()


def test_streamed_layer_indexes_are_stored_when_the_filesystem_is_confirmed() -> None:
    """Indexes are compressed in a thread of their own while the read goes on, and stored on
    confirmation: a read that fails or is interrupted after a layer leaves nothing in the store."""
    spooled = bytes(range(256)) * 8192  # 2 MiB: spooled, and read back by the packing thread
    blobs = [
        gz(build_tar([Entry("etc/os-release", b"ID=debian\n"), Entry("var/lib/rpm/rpmdb.sqlite", spooled)])),
        gz(build_tar([Entry("app/one.txt", b"1")])),
    ]
    selection = Selection(patterns=("/etc/os-release", "/var/lib/rpm/rpmdb.sqlite"))
    store = MemoryStore()
    with pytest.raises(KeyboardInterrupt), read_layers([layer(b) for b in blobs], selection=selection, store=store):
        raise KeyboardInterrupt
    assert store.layers == {}
    broken = [blobs[0], gz(b"not a tar" * 100)]
    with pytest.raises(UnsafeArchiveError):
        read_layers([layer(b) for b in broken], selection=selection, store=store, parallel=1)
    assert store.layers == {}  # the first layer was read and packed, but nothing was confirmed
    fs = read_layers([layer(b) for b in blobs], selection=selection, store=store)
    fs.close()  # closed unconfirmed while its indexes may still be packing: nothing stored, nothing raised
    assert store.layers == {}
    with read_layers([layer(b) for b in blobs], selection=selection, store=store) as fs:
        assert store.layers == {}
    assert len(store.layers) == 2

    def refuse():
        raise AssertionError("a stored layer must not be opened")

    cached = [LayerInput(digest=layer(b).digest, media_type="x", open=refuse) for b in blobs]
    with read_layers(cached, selection=selection, store=store) as again:
        assert again.read_bytes("/var/lib/rpm/rpmdb.sqlite", 4 << 20) == spooled
        assert list(again.walk()) == ["/app/one.txt", "/etc/os-release", "/var/lib/rpm/rpmdb.sqlite"]


def test_many_small_kept_files_go_to_the_packer_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """One hand-over per small file cost 3x the read of a layer of 20,000 package.json files."""
    import wharfinger.inventory.layers as layers_module

    submitted: list[int] = []

    class Counting(layers_module.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            submitted.append(1)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(layers_module, "ThreadPoolExecutor", Counting)
    files = [Entry(f"app/node_modules/p{i}/package.json", b'{"name": "p%d"}' % i * 40) for i in range(3000)]
    store = MemoryStore()
    selection = Selection(patterns=("**/node_modules/*/package.json",))
    with read_layers([layer(gz(build_tar(files)))], selection=selection, store=store) as fs:
        assert len(list(fs.glob(selection.patterns))) == 3000
    assert len(store.layers) == 1
    assert len(submitted) < 10  # ~1.8 MB of contents: two batches and the metadata

    def refuse():
        raise AssertionError("a stored layer must not be opened")

    with read_layers([LayerInput(digest=layer(gz(build_tar(files))).digest, media_type="x", open=refuse)],
                     selection=selection, store=store) as again:  # fmt: skip
        assert again.read_bytes("/app/node_modules/p2999/package.json", 10_000) == b'{"name": "p2999"}' * 40


def test_a_streamed_layer_is_read_to_its_end_so_its_digest_is_checked() -> None:
    """The tar's end marker is not the blob's end: a blob altered after it (here in the header of a
    second gzip member, past the tar's last block) must still fail its digest."""
    import io
    import os

    from wharfinger.errors import DigestMismatchError
    from wharfinger.oci.digest import DigestVerifier, open_verified

    tar = build_tar([Entry("etc/os-release", b"ID=debian\n")])
    # 24 MB that do not compress: far more than the readers fetch ahead of the tar parser
    first, second = gz(tar), gz(os.urandom(24_000_000))
    genuine = first + second
    altered = first + second[:4] + bytes([second[4] ^ 1]) + second[5:]  # the member's mtime: same content
    digest = layer(genuine).digest

    def opened():
        return open_verified(io.BytesIO(altered), DigestVerifier(digest, expected_size=len(genuine)))

    with pytest.raises(DigestMismatchError, match="does not match its digest"):
        read_layers([LayerInput(digest=digest, media_type="x", open=opened, size=len(genuine))], selection=ALL)
    # the genuine blob, read to its end the same way, passes
    genuine_input = LayerInput(
        digest=digest,
        media_type="x",
        open=lambda: open_verified(io.BytesIO(genuine), DigestVerifier(digest, expected_size=len(genuine))),
        size=len(genuine),
    )
    with read_layers([genuine_input], selection=ALL) as fs:
        assert fs.read_bytes("/etc/os-release", 100) == b"ID=debian\n"


def test_kept_contents_past_the_memory_budget_are_spooled() -> None:
    """Many small selected files cannot fill the memory: past ``max_memory_bytes`` they go to disk."""
    import io

    contents = {f"/etc/conf{i}.d/settings": bytes([i]) * 1500 for i in range(4)}
    tar = build_tar([Entry(path.lstrip("/"), data) for path, data in contents.items()])
    selection = Selection(patterns=("/etc/*/settings",))
    with read_layers([layer(gz(tar))], selection=selection, limits=LayerLimits(max_memory_bytes=3000)) as fs:
        in_memory = []
        for path in contents:
            with fs.open(path) as handle:
                in_memory.append(isinstance(handle, io.BytesIO))
        assert sorted(in_memory) == [False, False, True, True]  # two fit the 3,000 bytes
        for path, data in contents.items():
            assert fs.read_bytes(path, 10_000) == data


def test_cached_layer_indexes_count_against_the_memory_budget() -> None:
    """Past ``max_memory_bytes`` a cached index is not loaded: its layer is read again instead."""
    blobs = [gz(build_tar([Entry(f"etc/conf{n}.d/settings", bytes([n]) * 2000)])) for n in range(3)]
    selection = Selection(patterns=("/etc/*/settings",))
    store = MemoryStore()
    with read_layers([layer(b) for b in blobs], selection=selection, store=store):
        pass
    assert len(store.layers) == 3
    opened: list[int] = []

    def tracked(n: int) -> LayerInput:
        plain = layer(blobs[n])

        def open_blob():
            opened.append(n)
            return plain.open()

        return LayerInput(digest=plain.digest, media_type=plain.media_type, open=open_blob)

    limits = LayerLimits(max_memory_bytes=5000)  # two cached indexes of 2,000 bytes fit
    with read_layers([tracked(n) for n in range(3)], selection=selection, store=store, limits=limits) as fs:
        assert opened == [2]
        for n in range(3):
            assert fs.read_bytes(f"/etc/conf{n}.d/settings", 10_000) == bytes([n]) * 2000
    opened.clear()
    with read_layers([tracked(n) for n in range(3)], selection=selection, store=store) as fs:
        assert opened == []  # with the default budget every index comes from the cache


_STATUS = b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\n"
_SYMLINKED = {
    "the file, absolute": [[Entry("opt/s", _STATUS), Entry("var/lib/dpkg/status", kind=SYM, link="/opt/s")]],
    "the file, relative": [[Entry("opt/s", _STATUS), Entry("var/lib/dpkg/status", kind=SYM, link="../../../opt/s")]],
    "a directory above": [[Entry("opt/db/status", _STATUS), Entry("var/lib/dpkg", kind=SYM, link="/opt/db")]],
    "the link first": [[Entry("var/lib/dpkg/status", kind=SYM, link="/opt/s"), Entry("opt/s", _STATUS)]],
    "across layers": [[Entry("opt/s", _STATUS)], [Entry("var/lib/dpkg/status", kind=SYM, link="/opt/s")]],
}


@pytest.mark.parametrize("shape", sorted(_SYMLINKED))
@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_an_os_database_behind_a_symlink_is_read(tmp_path: Path, shape: str, stored: str) -> None:
    """dpkg (and a container) follow a symlinked database; its target was not selected, so its
    layer is read once more for it: a symlink cannot hide the OS packages."""
    from wharfinger.inventory.catalog import catalog_layers

    tars = [build_tar(entries) for entries in _SYMLINKED[shape]]
    made = stored_layers(tars, stored, tmp_path)
    inventory = catalog_layers(made, store=None)
    assert [(p.name, p.version) for p in inventory.packages] == [("bash", "5.2.15-2+b2")]
    assert inventory.warnings == ()


_SYFT_DEBIAN = "fixtures/inventory/syft/syft/pkg/cataloger/debian/testdata"


def _fixture_entries(root: Path, under: str, to: str) -> list[Entry]:
    """The files of a shared fixture's ``under`` directory, as tar entries below ``to``."""
    return [
        Entry(f"{to}/{path.relative_to(root / under)}", path.read_bytes())
        for path in sorted((root / under).rglob("*"))
        if path.is_file()
    ]


@pytest.mark.parametrize("shape", ["one layer", "the link in a later layer", "the link first"])
@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_distroless_status_d_behind_a_symlinked_directory_is_read(
    shared_dir: Path, tmp_path: Path, shape: str, stored: str
) -> None:
    """distroless keeps one file per package in ``status.d/``: with ``/var/lib/dpkg`` a symlink, the
    files lie under a path no dpkg pattern matches, and their contents were passed over. They are
    read again and listed under the name dpkg asks for, so the symlink hides nothing."""
    from wharfinger.inventory.catalog import catalog_layers
    from wharfinger.inventory.cataloger import CatalogContext
    from wharfinger.inventory.catalogers.dpkg import DPKG
    from wharfinger.inventory.filesystem import DirFS

    root = shared_dir / _SYFT_DEBIAN / "image-distroless-deb"
    files = _fixture_entries(root, "var/lib/dpkg", "opt/db")
    link = Entry("var/lib/dpkg", kind=SYM, link="../../opt/db")
    tars = {
        "one layer": [[Entry("var/lib", kind=DIR), *files, link]],
        "the link in a later layer": [[*files], [Entry("var/lib", kind=DIR), link]],
        "the link first": [[Entry("var/lib", kind=DIR), link, *files]],
    }[shape]
    made = stored_layers(tars, stored, tmp_path)
    expected = DPKG.catalog(DirFS(root), CatalogContext(distro=None))  # the fixture as syft ships it
    inventory = catalog_layers(made, store=None)
    assert [(p.name, p.version, p.source_name) for p in inventory.packages] == [
        (p.name, p.version, p.source_name) for p in expected
    ]
    assert inventory.packages[0].locations[0].path == "/var/lib/dpkg/status.d/libsqlite3-0"
    assert inventory.packages[0].layer_digest == made[0].digest  # the layer that wrote the file
    assert inventory.warnings == ()


@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_dpkg_file_lists_behind_a_symlinked_directory_are_read(shared_dir: Path, tmp_path: Path, stored: str) -> None:
    """``info/*.list`` and ``*.md5sums`` name the files dpkg installed (language packages among
    them are not reported twice): through a symlinked ``/var/lib/dpkg`` they are globbed and read."""
    from wharfinger.inventory.catalogers.dpkg import DPKG
    from wharfinger.inventory.filesystem import DirFS

    root = shared_dir / _SYFT_DEBIAN / "image-dpkg"
    tar = build_tar(
        [
            Entry("var/lib", kind=DIR),
            *_fixture_entries(root, "var/lib/dpkg", "srv/dpkg"),
            Entry("var/lib/dpkg", kind=SYM, link="/srv/dpkg"),
        ]
    )
    (made,) = stored_layers([tar], stored, tmp_path)
    with read_layers([made], selection=Selection(patterns=DPKG.patterns)) as fs:
        assert list(fs.glob(["/var/lib/dpkg/info/*.md5sums"])) == ["/var/lib/dpkg/info/libpam-runtime.md5sums"]
        owned = DPKG.owned_files(fs)
        assert owned == DPKG.owned_files(DirFS(root))
        listed = (root / "var/lib/dpkg/info/libpam-runtime.md5sums").read_text().splitlines()
        assert owned == {"/" + line.split(maxsplit=1)[1] for line in listed}
        assert fs.warnings == []


def test_a_view_before_the_symlink_lists_no_alias(tmp_path: Path) -> None:
    """``at_layer`` views share the aliases but follow their own layer's symlinks."""
    control = b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"
    made = [
        in_place_layer(build_tar([Entry("opt/db/status.d/base-files", control)]), tmp_path),
        in_place_layer(
            build_tar([Entry("var/lib", kind=DIR), Entry("var/lib/dpkg", kind=SYM, link="/opt/db")]), tmp_path
        ),
    ]
    with read_layers(made, selection=Selection(patterns=("/var/lib/dpkg/status.d/*",))) as fs:
        assert list(fs.glob(["/var/lib/dpkg/status.d/*"])) == ["/var/lib/dpkg/status.d/base-files"]
        assert fs.read_bytes("/var/lib/dpkg/status.d/base-files", 1000) == control
        assert list(fs.at_layer(0).glob(["/var/lib/dpkg/status.d/*"])) == []


_TRIVY = "fixtures/inventory/trivy/pkg"
# (fixture file, where it lies in an image, the directory a symlink may stand for, where that then points)
_BELOW_LINKS = {
    "php vendor": (
        f"{_TRIVY}/fanal/analyzer/language/php/composer/testdata/composer-vendor/happy/installed.json",
        "app/vendor/composer/installed.json",
        "app/vendor",
        "opt/php-deps",
    ),
    "ruby specifications": (
        f"{_TRIVY}/dependency/parser/ruby/gemspec/testdata/normal00.gemspec",
        "usr/local/bundle/specifications/normal00.gemspec",
        "usr/local/bundle/specifications",
        "srv/gems/specs",
    ),
}


def _summary(inventory: object) -> list[tuple[str, str, str]]:
    return sorted((p.type.value, p.name, p.version) for p in inventory.packages)  # type: ignore[attr-defined]


@pytest.mark.parametrize("case", sorted(_BELOW_LINKS))
@pytest.mark.parametrize("link", ["absolute", "relative", "in a later layer"])
@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_a_package_below_a_symlinked_directory_is_found(
    shared_dir: Path, tmp_path: Path, case: str, link: str, stored: str
) -> None:
    """``/app/vendor`` a symlink to ``/opt/php-deps``: ``**/vendor/composer/installed.json`` matches no
    real path, yet the image holds the same packages as with the directory in place (syft finds them,
    a container's PHP loads them). Found, and reported where the pattern names them."""
    from wharfinger.inventory.catalog import catalog_layers
    from wharfinger.inventory.cataloger import CatalogerSelection, load_catalogers, select_catalogers

    fixture, where, directory, target = _BELOW_LINKS[case]
    data = (shared_dir / fixture).read_bytes()
    catalogers = select_catalogers(load_catalogers(), CatalogerSelection.INSTALLED)

    in_place = catalog_layers(stored_layers([[Entry(where, data)]], stored, tmp_path), catalogers, store=None)
    assert in_place.packages  # the fixture holds packages
    moved = Entry(target + where.removeprefix(directory), data)
    up = "../" * directory.count("/")
    symlink = Entry(directory, kind=SYM, link=f"/{target}" if link == "absolute" else f"{up}{target}")
    tars = [[moved], [symlink]] if link == "in a later layer" else [[moved, symlink]]
    linked = catalog_layers(stored_layers(tars, stored, tmp_path), catalogers, store=None)
    assert _summary(linked) == _summary(in_place)
    assert {p.locations[0].path for p in linked.packages} == {"/" + where}
    assert {p.layer_digest for p in linked.packages} == {linked.layer_digests[0]}  # the layer with the file
    assert linked.warnings == ()


def test_merged_usr_links_read_no_layer_again() -> None:
    """``/bin`` → ``usr/bin`` (every merged-/usr image) ends like ``**/bin/node``, but so does its target:
    the real paths match already, nothing is read twice."""
    node = b"\x7fELF" + b"\0" * 60
    tar = build_tar(
        [
            Entry("usr/bin/node", node, mode=0o755),
            Entry("usr/bin/ls", b"\x7fELF" + b"\1" * 60, mode=0o755),
            Entry("bin", kind=SYM, link="usr/bin"),
        ]
    )
    opened: list[str] = []
    streamed = layer(gz(tar))

    def open_blob() -> BinaryIO:
        opened.append(streamed.digest)
        return streamed.open()

    tracked = LayerInput(digest=streamed.digest, media_type=streamed.media_type, open=open_blob)
    with read_layers([tracked], selection=Selection(patterns=("**/bin/node", "**/bin/python3.*"))) as fs:
        # following /bin would list /usr/bin, which puts every plain file in the tree (``_Unindexed``)
        assert not fs._unindexed.done
        assert list(fs.glob(["**/bin/node"])) == ["/usr/bin/node"]
        assert fs.read_bytes("/bin/node", 100) == node
    assert opened == [streamed.digest]  # streamed once, never again


def _dpkg_query_after_tar(tars: list[bytes], scratch: Path) -> set[tuple[str, str]]:
    """The oracle: GNU tar applies the layers in order (it follows a symlink met on the way, as
    containerd and Docker do), and dpkg-query reads the database the result holds."""
    import shutil
    import subprocess

    root = scratch / "root"
    root.mkdir()
    for n, tar in enumerate(tars):
        (scratch / f"{n}.tar").write_bytes(tar)
        subprocess.run(["tar", "-xf", str(scratch / f"{n}.tar"), "-C", str(root)], check=True)
    admin = scratch / "admin"  # dpkg-query wants a writable admin directory of its own
    shutil.copytree(root / "var/lib/dpkg", admin)
    (admin / "updates").mkdir(exist_ok=True)
    listed = subprocess.run(
        ["dpkg-query", f"--admindir={admin}", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return {
        (name, version)
        for name, version, status in (line.split("\t") for line in listed.splitlines())
        if status == "installed"
    }


@pytest.mark.parametrize("shape", ["its own name selected", "under another name"])
@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_an_entry_below_a_symlink_lands_where_the_link_leads(
    shared_dir: Path, tmp_path: Path, shape: str, stored: str
) -> None:
    """A later layer's ``var/lib/dpkg/status`` below a symlinked ``/var/lib/dpkg`` is written through
    the link: a container's dpkg reads it there, not the older database the link leads to."""
    from wharfinger.inventory.catalog import catalog_layers

    txtar = shared_dir / "fixtures/inventory/trivy/pkg/fanal/analyzer/pkg/dpkg/testdata/only-apt.txtar"
    status = txtar.read_bytes().split(b"-- var/lib/dpkg/status --\n", 1)[1]  # the archive's one file
    if shape == "its own name selected":  # (relative: GNU tar, the oracle, would follow /opt/db out of its root)
        base = [
            Entry("opt/db/status", b""),
            Entry("var/lib", kind=DIR),
            Entry("var/lib/dpkg", kind=SYM, link="../../opt/db"),
        ]
        top = [Entry("var/lib/dpkg/status", status)]
    else:  # the entry's own path is selected by nothing: its content must be read again
        base = [Entry("var/lib/dpkg/status", b""), Entry("x", kind=SYM, link="var/lib/dpkg")]
        top = [Entry("x/status", status)]
    tars = [build_tar(base), build_tar(top)]
    expected = _dpkg_query_after_tar(tars, tmp_path)
    assert expected  # the oracle found the packages of the later layer
    made = stored_layers(tars, stored, tmp_path)
    inventory = catalog_layers(made, store=None)
    assert {(p.name, p.version) for p in inventory.packages} == expected
    assert {p.layer_digest for p in inventory.packages} == {made[1].digest}
    assert [w for w in inventory.warnings if "lie below a symlink" in w] == [
        f"layer {made[1].digest}: 1 entries lie below a symlink, read where a container finds them: "
        + (
            "/var/lib/dpkg/status → /opt/db/status"
            if shape == "its own name selected"
            else "/x/status → /var/lib/dpkg/status"
        )
    ]


_SYFT = "fixtures/inventory/syft/syft/pkg/cataloger"
_DIST_INFO = f"{_SYFT}/python/testdata/site-packages/license/with-license-file-declared.dist-info/METADATA"
_NODE_PACKAGE = f"{_SYFT}/javascript/testdata/pkg-lock/node_modules/cowsay/package.json"
_SITE = "usr/lib/python3/dist-packages/pkg.dist-info"
_MODULES = "app/node_modules"
# (files, then what replaces the directory and where) — same layer or a later one
_REPLACED = {
    "dist-info replaced by a symlink": (_DIST_INFO, f"{_SITE}/METADATA", Entry(_SITE, kind=SYM, link="/tmp")),
    "dist-info replaced by a file": (_DIST_INFO, f"{_SITE}/METADATA", Entry(_SITE, b"not a directory")),
    "node_modules replaced by a file": (_NODE_PACKAGE, f"{_MODULES}/cowsay/package.json", Entry(_MODULES, b"x")),
}


@pytest.mark.parametrize("case", sorted(_REPLACED))
@pytest.mark.parametrize("when", ["same layer", "a later layer"])
@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_a_directory_replaced_by_a_non_directory_takes_its_packages_along(
    shared_dir: Path, tmp_path: Path, case: str, when: str, stored: str
) -> None:
    """containerd and Docker remove a directory (``RemoveAll``) that a file or symlink entry replaces:
    what lay below it is gone for a container, and must be for the inventory too (no ghost packages)."""
    from wharfinger.inventory.catalog import catalog_layers
    from wharfinger.inventory.cataloger import CatalogerSelection, load_catalogers, select_catalogers

    fixture, where, replacement = _REPLACED[case]
    catalogers = select_catalogers(load_catalogers(), CatalogerSelection.INSTALLED)

    package = Entry(where, (shared_dir / fixture).read_bytes())
    assert catalog_layers(
        stored_layers([[package]], stored, tmp_path), catalogers, store=None
    ).packages  # the fixture is a package
    tars = [[package, replacement]] if when == "same layer" else [[package], [replacement]]
    assert catalog_layers(stored_layers(tars, stored, tmp_path), catalogers, store=None).packages == ()
    # and the file written again below a directory that came back is there again
    again = [*tars, [Entry(replacement.name, kind=DIR), package]]
    assert catalog_layers(stored_layers(again, stored, tmp_path), catalogers, store=None).packages


@pytest.mark.parametrize(
    "link",
    [
        pytest.param("/var/lib/dpkg", id="a loop"),
        pytest.param("/var/lib/dpkg/status.d", id="into itself"),
        pytest.param("../../../../../../opt/db", id="above the root"),
    ],
)
def test_a_hostile_symlinked_database_directory_is_harmless(tmp_path: Path, link: str) -> None:
    """Loops are cut and ``..`` stops at the root: the read ends, and finds at most the real files."""
    from wharfinger.inventory.catalog import catalog_layers

    control = b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n"
    tar = build_tar(
        [
            Entry("opt/db/status.d/base-files", control),
            Entry("var/lib", kind=DIR),
            Entry("var/lib/dpkg", kind=SYM, link=link),
        ]
    )
    inventory = catalog_layers([in_place_layer(tar, tmp_path)], store=None)
    found = [(p.name, p.version) for p in inventory.packages]
    assert found == ([("base-files", "12.4+deb12u5")] if link.endswith("opt/db") else [])


@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_a_hardlink_to_a_lower_layers_file_reads_its_content(tmp_path: Path, stored: str) -> None:
    """Only hand-made tars link across layers, and containerd links to the lower file: the lower
    layer is read once more for it, and the content survives the tree's rebuild with plain files."""
    from wharfinger.inventory.catalog import catalog_layers

    tars = [
        build_tar([Entry("opt/s", _STATUS), Entry("opt/other", b"o" * 3000)]),
        build_tar([Entry("var/lib/dpkg/status", kind=LNK, link="opt/s")]),
    ]
    made = stored_layers(tars, stored, tmp_path)
    selection = Selection(patterns=("/var/lib/dpkg/status",))
    with read_layers(made, selection=selection) as fs:
        assert fs.read_bytes("/var/lib/dpkg/status", 1000) == _STATUS
        assert fs.size("/opt/other") == 3000  # a query on a plain file rebuilds the tree
        assert fs.read_bytes("/var/lib/dpkg/status", 1000) == _STATUS
        assert fs.warnings == []
    inventory = catalog_layers(made, store=None)
    assert [(p.name, p.version) for p in inventory.packages] == [("bash", "5.2.15-2+b2")]


def test_thousands_of_links_to_one_directory_list_it_once() -> None:
    """A hostile layer: 20,000 ``specifications`` symlinks to one directory of 2,000 files. Each link's
    gemspec is found, and the directory is listed once, not once per link (that took ~60 s)."""
    import time

    gemspec = b"Gem::Specification.new do |s|\n  s.name = 'x'\n  s.version = '1.0'\nend\n"
    entries = [Entry(f"srv/lib/f{i}.so", b"x") for i in range(2000)] + [Entry("srv/lib/x.gemspec", gemspec)]
    entries += [Entry(f"app{i}/specifications", kind=SYM, link="/srv/lib") for i in range(20_000)]
    blob = build_tar(entries)
    started = time.perf_counter()
    selection = Selection(patterns=("**/specifications/*.gemspec",))
    with read_layers([layer(blob, "application/vnd.oci.image.layer.v1.tar")], selection=selection) as fs:
        found = list(fs.glob(selection.patterns))
        assert fs.read_bytes("/app7/specifications/x.gemspec", 1000) == gemspec
    assert len(found) == 20_000
    assert time.perf_counter() - started < 20  # listed per link: ~60 s on the CI machine


def test_a_directory_a_later_layer_turned_into_a_link_costs_no_rebuild() -> None:
    """usrmerge: a layer replaces ``/bin`` (a directory of files below) by a link to ``usr/bin``. The
    old entries are gone, nothing lies below the link: the plain files stay out of the tree."""
    base = build_tar([Entry("bin/ls", b"\x7fELF" + b"\1" * 60, mode=0o755), Entry("usr/bin/node", b"n")])
    merged = build_tar([Entry("bin", kind=SYM, link="usr/bin")])
    blobs = [
        layer(base, "application/vnd.oci.image.layer.v1.tar"),
        layer(merged, "application/vnd.oci.image.layer.v1.tar"),
    ]
    with read_layers(blobs, selection=Selection(patterns=("**/bin/node",))) as fs:
        assert not fs._unindexed.done
        assert fs.read_bytes("/bin/node", 10) == b"n"
        assert not fs.exists("/usr/bin/ls")
        assert fs.warnings == []


@pytest.mark.parametrize("whiteout", ["the file", "an opaque directory"])
@pytest.mark.parametrize("stored", ["streamed", "in place"])
def test_a_whiteout_below_a_symlink_deletes_where_the_link_leads(
    shared_dir: Path, tmp_path: Path, whiteout: str, stored: str
) -> None:
    """``var/lib/dpkg/.wh.status`` with ``/var/lib/dpkg`` a link to ``/opt/db`` deletes ``/opt/db/status``
    (containerd resolves the whiteout's directory): the inventory equals the one of the same
    whiteout written at the real path, and the database's packages are gone from both."""
    from wharfinger.inventory.catalog import catalog_layers

    txtar = shared_dir / "fixtures/inventory/trivy/pkg/fanal/analyzer/pkg/dpkg/testdata/only-apt.txtar"
    status = txtar.read_bytes().split(b"-- var/lib/dpkg/status --\n", 1)[1]
    base = [Entry("opt/db/status", status), Entry("var/lib", kind=DIR), Entry("var/lib/dpkg", kind=SYM, link="/opt/db")]
    name = ".wh.status" if whiteout == "the file" else ".wh..wh..opq"

    def inventory(top: list[Entry]) -> list[tuple[str, str]]:
        tars = [build_tar(base), build_tar(top)]
        made = stored_layers(tars, stored, tmp_path)
        return sorted((p.name, p.version) for p in catalog_layers(made, store=None).packages)

    assert inventory([Entry("etc/other", b"x")])  # the database holds packages
    through_link = inventory([Entry(f"var/lib/dpkg/{name}")])
    assert through_link == inventory([Entry(f"opt/db/{name}")]) == []
