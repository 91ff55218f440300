"""The hashing helper process (``layer_hasher``) and the layers that rely on it.

The digests are checked against coreutils' ``sha256sum``; the fallbacks (a helper that cannot
start, dies, or answers nonsense) must still refuse an altered layer.
"""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from inventory_layer_builder import Entry, build_tar, in_place_layer

from wharfinger.errors import DigestMismatchError
from wharfinger.inventory import layer_hasher
from wharfinger.inventory.layer_hasher import HelperUnavailableError, LayerHasher
from wharfinger.inventory.layer_input import LayerInput
from wharfinger.inventory.layers import Selection, read_layers
from wharfinger.inventory.tarstream import FileSource, TarEntry, TarReader
from wharfinger.oci.sources.files import BlobLocation

SELECTION = Selection(patterns=("/var/lib/dpkg/status",))
ENTRIES = [
    Entry("var/lib/dpkg/status", b"Package: a\nVersion: 1\n"),
    Entry("usr/share/doc/a/copyright", b"x" * 70_000),  # skipped by the parse: only the hash reads it
]


def sha256sum(data: bytes) -> str:
    done = subprocess.run(["sha256sum"], input=data, capture_output=True, check=True)
    return done.stdout.split()[0].decode()


def altered_layer() -> tuple[bytes, bytes]:
    tar = build_tar(ENTRIES)
    at = tar.index(b"x" * 70_000) + 4321
    return tar, tar[:at] + b"y" + tar[at + 1 :]


def assert_verified(directory: Path) -> None:
    """The layer read in place gives its contents; the same layer altered in unread content is refused."""
    tar, altered = altered_layer()
    with read_layers([in_place_layer(tar, directory)], selection=SELECTION) as fs:
        assert fs.read_bytes("/var/lib/dpkg/status", 100) == b"Package: a\nVersion: 1\n"
    with pytest.raises(DigestMismatchError, match="does not match its digest"):
        read_layers([in_place_layer(altered, directory, digest_of=tar)], selection=SELECTION)


def test_the_helper_hashes_a_range_as_sha256sum_does(tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    path = tmp_path / "blob"
    path.write_bytes(data)
    offset, size = 1_000_001, 2 * 1024 * 1024 + 5
    with LayerHasher() as hasher, path.open("rb") as f:
        whole = hasher.submit(f.fileno(), 0, len(data), "sha256")
        part = hasher.submit(f.fileno(), offset, size, "sha256")
        assert part.result() == (size, sha256sum(data[offset : offset + size]))  # answers asked out of order
        assert whole.result() == (len(data), sha256sum(data))


def test_a_layer_larger_than_one_read_is_hashed_whole(tmp_path: Path) -> None:
    data = os.urandom(19 * 1024 * 1024)  # three of the helper's 8 MiB reads
    path = tmp_path / "blob"
    path.write_bytes(data)
    with LayerHasher() as hasher, path.open("rb") as f:
        assert hasher.submit(f.fileno(), 0, len(data), "sha256").result() == (len(data), sha256sum(data))


def test_the_helper_hashes_the_open_file_not_the_path(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"the layer that was parsed")
    swapped = tmp_path / "other"
    swapped.write_bytes(b"another file put in its place")
    with LayerHasher() as hasher, path.open("rb") as f:
        swapped.replace(path)  # after the parse opened it, before the hash
        assert hasher.submit(f.fileno(), 0, 25, "sha256").result() == (25, sha256sum(b"the layer that was parsed"))


def test_a_short_file_answers_the_bytes_it_has(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"12345")
    with LayerHasher() as hasher, path.open("rb") as f:
        assert hasher.submit(f.fileno(), 2, 100, "sha256").result() == (3, sha256sum(b"345"))


def test_a_read_error_is_answered_as_an_os_error(tmp_path: Path) -> None:
    fd = os.open(tmp_path, os.O_RDONLY)  # a directory: pread fails with EISDIR
    try:
        with LayerHasher() as hasher:
            job = hasher.submit(fd, 0, 10, "sha256")
            with pytest.raises(OSError, match="directory") as caught:
                job.result()
            assert not isinstance(caught.value, HelperUnavailableError)
    finally:
        os.close(fd)


def test_an_in_place_layer_is_verified_by_the_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real_spawn = layer_hasher._spawn

    def spawn(command: list[str], channel_fd: int) -> subprocess.Popen[bytes]:
        started.append(real_spawn(command, channel_fd))
        return started[-1]

    monkeypatch.setattr(layer_hasher, "_spawn", spawn)
    assert_verified(tmp_path)
    assert len(started) == 2
    assert all(process.poll() is not None for process in started)  # stopped with the read, not left behind


def _cannot_start(command: list[str], channel_fd: int) -> subprocess.Popen[bytes]:
    raise OSError("no processes left")


def _exits_at_once(command: list[str], channel_fd: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, "-c", "pass"], pass_fds=(channel_fd,))
    process.wait()
    return process


def _fake_helper(channel_fd: int, answer: str, *args: str) -> subprocess.Popen[bytes]:
    """A helper that takes each message and runs ``answer`` (statements; ``s`` is its socket,
    ``sys.argv[2:]`` are ``args``)."""
    script = (
        "import os, socket, sys\n"
        "s = socket.socket(fileno=int(sys.argv[1]))\n"
        "while True:\n"
        "    message, fds, _, _ = socket.recv_fds(s, 256, 1)\n"
        "    if not message: break\n"
    ) + textwrap.indent(answer, "    ")
    return subprocess.Popen([sys.executable, "-c", script, str(channel_fd), *args], pass_fds=(channel_fd,))


def _answers_nonsense(command: list[str], channel_fd: int) -> subprocess.Popen[bytes]:
    return _fake_helper(channel_fd, "s.send(b'ok 1 -$!')\n")


@pytest.mark.parametrize("spawn", [_cannot_start, _exits_at_once, _answers_nonsense], ids=lambda f: f.__name__)
def test_without_a_working_helper_the_layer_is_verified_here(
    tmp_path: Path, spawn: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(layer_hasher, "_spawn", spawn)
    assert_verified(tmp_path)


def test_a_helper_killed_while_hashing_leaves_the_layer_to_this_process(tmp_path: Path) -> None:
    tar, altered = altered_layer()
    for blob, must_fail in ((tar, False), (altered, True)):
        with LayerHasher() as hasher:
            hasher.start()
            assert hasher._process is not None
            os.kill(hasher._process.pid, signal.SIGKILL)
            hasher._process.wait()
            layers = [in_place_layer(blob, tmp_path, digest_of=tar)]
            if must_fail:
                with pytest.raises(DigestMismatchError):
                    read_layers(layers, selection=SELECTION, hasher=hasher)
            else:
                with read_layers(layers, selection=SELECTION, hasher=hasher) as fs:
                    assert fs.exists("/usr/share/doc/a/copyright")


def test_a_closed_hasher_takes_no_more_jobs(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"data")
    hasher = LayerHasher()
    hasher.close()
    with path.open("rb") as f, pytest.raises(HelperUnavailableError):
        hasher.submit(f.fileno(), 0, 4, "sha256")


def archive_of(members: dict[str, bytes], path: Path) -> dict[str, tuple[int, int]]:
    """A plain tar of ``members`` (as ``docker save`` writes one); each member's (data offset, size)."""
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as out:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    with tarfile.open(path) as archive:
        return {m.name: (m.offset_data, m.size) for m in archive}


def test_an_archive_hashed_ahead_answers_its_members_without_jobs(tmp_path: Path) -> None:
    layer_one, layer_two = os.urandom(300_000), os.urandom(2_000_000)
    long_name = "blobs/sha256/" + "a" * 120  # a pax header before it: offsets are the data's, not the header's
    where = archive_of({"manifest.json": b"[]", long_name: layer_one, "layer.tar": layer_two}, tmp_path / "a.tar")
    with LayerHasher() as hasher, (tmp_path / "a.tar").open("rb") as f:
        hasher.prehash(tmp_path / "a.tar")
        jobs = [hasher.submit(f.fileno(), *where[name], "sha256") for name in ("layer.tar", long_name)]
        assert [job.result() for job in jobs] == [
            (len(layer_two), sha256sum(layer_two)),
            (len(layer_one), sha256sum(layer_one)),
        ]
        assert hasher._submitted == 0


def test_a_range_that_is_no_member_is_left_to_the_caller(tmp_path: Path) -> None:
    where = archive_of({"layer.tar": os.urandom(100_000)}, tmp_path / "a.tar")
    offset, size = where["layer.tar"]
    with LayerHasher() as hasher, (tmp_path / "a.tar").open("rb") as f:
        hasher.prehash(tmp_path / "a.tar")
        for job in (hasher.submit(f.fileno(), offset + 512, size - 512, "sha256"),
                    hasher.submit(f.fileno(), offset, size - 1, "sha256")):  # fmt: skip
            with pytest.raises(HelperUnavailableError):
                job.result()


def test_a_file_replaced_after_the_hash_ahead_is_hashed_as_a_job(tmp_path: Path) -> None:
    original, replacement = os.urandom(100_000), os.urandom(100_000)
    where = archive_of({"layer.tar": original}, tmp_path / "a.tar")
    archive_of({"layer.tar": replacement}, tmp_path / "b.tar")
    with LayerHasher() as hasher:
        hasher.prehash(tmp_path / "a.tar")
        (tmp_path / "b.tar").replace(tmp_path / "a.tar")  # same name, another file: not what was hashed
        with (tmp_path / "a.tar").open("rb") as f:
            assert hasher.submit(f.fileno(), *where["layer.tar"], "sha256").result() == (
                100_000,
                sha256sum(replacement),
            )
        assert hasher._submitted == 1


@pytest.mark.parametrize(
    "content", [b"\x1f\x8b" + os.urandom(5000), b"", b"\0" * 10_240], ids=["gzip", "empty", "zeros"]
)
def test_a_file_that_is_no_tar_hashes_nothing_ahead(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "not.tar"
    path.write_bytes(content + b"x" * 100)
    with LayerHasher() as hasher, path.open("rb") as f:
        hasher.prehash(path)
        with pytest.raises(HelperUnavailableError):
            hasher.submit(f.fileno(), 0, 100, "sha256").result()


def test_a_pax_header_past_the_end_of_the_archive_ends_the_hash_ahead_not_the_helper(tmp_path: Path) -> None:
    path = tmp_path / "hostile.tar"
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 4 * 1024**3  # declares 4 GiB of pax records; the file ends 4 KiB later
    path.write_bytes(header.tobuf(format=tarfile.USTAR_FORMAT) + b"x" * 4096)
    with LayerHasher() as hasher, path.open("rb") as f:
        hasher.prehash(path)
        with pytest.raises(HelperUnavailableError, match="no member"):
            hasher.submit(f.fileno(), 512, 100, "sha256").result()
        other = tmp_path / "other"
        other.write_bytes(b"still serving")
        with other.open("rb") as g:  # the helper survived it, and takes jobs
            assert hasher.submit(g.fileno(), 0, 13, "sha256").result() == (13, sha256sum(b"still serving"))


def test_a_fifo_named_as_the_archive_is_not_waited_for(tmp_path: Path) -> None:
    fifo = tmp_path / "image.tar"
    os.mkfifo(fifo)
    with LayerHasher() as hasher:
        hasher.prehash(fifo)  # returns at once: no writer will ever come
        assert hasher._archive is None  # nothing is hashed ahead


def _entries(fd: int, offset: int, size: int) -> list[tuple[str, str, int, int, str]]:
    return [(e.name, e.type, e.mode, e.size, e.linkname) for e in TarReader(FileSource(fd, offset, size))]


def test_an_archive_hashed_ahead_gives_its_layers_entries(tmp_path: Path) -> None:
    layer_one = build_tar(ENTRIES)
    layer_two = build_tar([Entry("etc/os-release", b"ID=debian\n"), Entry("bin/sh", kind=tarfile.SYMTYPE, link="dash")])
    where = archive_of(
        {"manifest.json": b"[]", "one/layer.tar": layer_one, "two/layer.tar": layer_two}, tmp_path / "a.tar"
    )
    with LayerHasher() as hasher, (tmp_path / "a.tar").open("rb") as f:
        hasher.prehash(tmp_path / "a.tar")
        for name in ("two/layer.tar", "one/layer.tar"):  # in any order
            index = hasher.index(f.fileno(), *where[name])
            assert index is not None
            replayed = [
                (e.name, e.type, e.mode, e.size, e.linkname)
                for e in TarReader(FileSource(f.fileno(), *where[name])).replay(index)
            ]
            assert replayed == _entries(f.fileno(), *where[name])
            assert hasher.index(f.fileno(), *where[name]) is None  # handed over once
        assert hasher.index(f.fileno(), *where["manifest.json"]) is None  # not a tar
        offset, size = where["one/layer.tar"]
        assert hasher.index(f.fileno(), offset, size - 512) is None  # not a member
        assert [job.result() for job in (hasher.submit(f.fileno(), *where["one/layer.tar"], "sha256"),)] == [
            (len(layer_one), sha256sum(layer_one))
        ]


def test_an_index_is_only_given_for_the_archive_it_was_made_of(tmp_path: Path) -> None:
    layer = build_tar(ENTRIES)
    where = archive_of({"layer.tar": layer}, tmp_path / "a.tar")
    archive_of({"layer.tar": layer}, tmp_path / "b.tar")  # the same bytes, another file
    with LayerHasher() as hasher, (tmp_path / "b.tar").open("rb") as other:
        hasher.prehash(tmp_path / "a.tar")
        assert hasher.index(other.fileno(), *where["layer.tar"]) is None


def test_a_layer_read_with_an_index_ahead_is_not_parsed_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The layer read takes the helper's entries (parsing here would fail) and still verifies the layer."""
    layer = build_tar(ENTRIES)
    where = archive_of({"layer.tar": layer}, tmp_path / "a.tar")
    digest = "sha256:" + hashlib.sha256(layer).hexdigest()

    def refuse(self: TarReader) -> Iterator[TarEntry]:
        raise AssertionError("parsed in this process")

    with LayerHasher() as hasher:
        hasher.prehash(tmp_path / "a.tar")
        monkeypatch.setattr(TarReader, "__iter__", refuse)
        layers = [_archive_layer(tmp_path / "a.tar", *where["layer.tar"], digest)]
        with read_layers(layers, selection=SELECTION, hasher=hasher) as fs:
            assert fs.read_bytes("/var/lib/dpkg/status", 100) == b"Package: a\nVersion: 1\n"
            assert fs.exists("/usr/share/doc/a/copyright")
    with LayerHasher() as hasher:  # the same layer under another digest: refused, index or not
        hasher.prehash(tmp_path / "a.tar")
        wrong = [_archive_layer(tmp_path / "a.tar", *where["layer.tar"], "sha256:" + "0" * 64)]
        with pytest.raises(DigestMismatchError):
            read_layers(wrong, selection=SELECTION, hasher=hasher)


def _archive_layer(path: Path, offset: int, size: int, digest: str) -> LayerInput:
    def refuse() -> BinaryIO:
        raise AssertionError("streamed instead of read in place")

    return LayerInput(
        digest=digest,
        media_type="application/vnd.docker.image.rootfs.diff.tar",
        open=refuse,
        size=size,
        location=BlobLocation(path=path, offset=offset, size=size),
    )


def test_a_large_archive_is_hashed_first_and_not_indexed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layer = build_tar(ENTRIES)
    where = archive_of({"layer.tar": layer}, tmp_path / "a.tar")
    monkeypatch.setattr(layer_hasher, "_INDEX_FIRST_BYTES", len(layer) - 1)
    with LayerHasher() as hasher, (tmp_path / "a.tar").open("rb") as f:
        hasher.prehash(tmp_path / "a.tar")
        assert hasher.index(f.fileno(), *where["layer.tar"]) is None
        assert hasher.submit(f.fileno(), *where["layer.tar"], "sha256").result() == (len(layer), sha256sum(layer))


# a helper whose index of an archive's member lies about its size: the reader must parse instead
_BROKEN_INDEX = """\
memfd = os.memfd_create('x')
os.write(memfd, b'0' * 10)
socket.send_fds(s, [f'index {sys.argv[2]} {sys.argv[3]} 1 1 0 0'.encode()], [memfd])
s.send(b'indexes-end')
s.send(b'archive-end')
"""


def test_an_index_of_the_wrong_shape_leaves_the_layer_to_the_parser(tmp_path: Path) -> None:
    layer = build_tar(ENTRIES)
    where = archive_of({"layer.tar": layer}, tmp_path / "a.tar")
    offset, size = where["layer.tar"]

    def spawn(command: list[str], channel_fd: int) -> subprocess.Popen[bytes]:
        return _fake_helper(channel_fd, _BROKEN_INDEX, str(offset), str(size))

    with LayerHasher(spawn=spawn) as hasher, (tmp_path / "a.tar").open("rb") as f:
        hasher.prehash(tmp_path / "a.tar")
        assert hasher.index(f.fileno(), *where["layer.tar"]) is None
        assert not hasher._indexes  # its descriptor closed, not kept


def test_hostile_entries_replayed_from_the_index_are_skipped_as_when_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The helper parses a hostile layer for the command; what the command keeps, and the warnings it
    gives, are the same as when it parses the layer itself (the checks run on the replayed entries)."""
    layer = build_tar(
        [
            Entry("../../etc/shadow", b"x"),
            Entry("/etc/passwd", b"x"),
            Entry("dev/sda", kind=tarfile.BLKTYPE),
            Entry("run/fifo", kind=tarfile.FIFOTYPE),
            Entry("var/lib/dpkg/status", b"Package: a\nVersion: 1\n"),
            Entry("etc/escape", kind=tarfile.SYMTYPE, link="../../../../etc/passwd"),
        ]
    )
    where = archive_of({"layer.tar": layer}, tmp_path / "a.tar")
    layers = [_archive_layer(tmp_path / "a.tar", *where["layer.tar"], "sha256:" + hashlib.sha256(layer).hexdigest())]

    def read(hasher: LayerHasher) -> tuple[list[str], bytes, list[str]]:
        warnings: list[str] = []
        with read_layers(layers, selection=SELECTION, hasher=hasher, warn=warnings.append) as fs:
            return sorted(fs.walk()), fs.read_bytes("/var/lib/dpkg/status", 100), sorted(warnings)

    with LayerHasher() as hasher:
        parsed_here = read(hasher)
    iterate = TarReader.__iter__

    def refuse(self: TarReader) -> Iterator[TarEntry]:
        raise AssertionError("parsed in this process")

    with LayerHasher() as hasher:
        hasher.prehash(tmp_path / "a.tar")
        monkeypatch.setattr(TarReader, "__iter__", refuse)  # the layer must come from the helper's index
        replayed = read(hasher)
        monkeypatch.setattr(TarReader, "__iter__", iterate)
    assert replayed == parsed_here
    assert sum("path traversal" in w or "absolute" in w or "device files" in w for w in replayed[2]) == 4
