"""The layer tar reader against Python's ``tarfile``: same entries, same checksum rule, clear errors."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from wharfinger.errors import UnsafeArchiveError
from wharfinger.inventory.layers import LayerLimits, _checked_member_path, _safe_member_path
from wharfinger.inventory.tarstream import FileSource, TarEntry, TarIndex, TarReader, _checksum

_FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}
_SEGMENT = st.text(alphabet=st.sampled_from("ab.-_é\U0001f600"), min_size=1, max_size=12)
_KINDS = st.sampled_from([tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE])


@st.composite
def _members(draw: st.DrawFn) -> list[tuple[tarfile.TarInfo, bytes]]:
    members = []
    for _ in range(draw(st.integers(1, 8))):
        # long names (> 100 bytes: GNU ././@LongLink, PAX path, ustar prefix), odd sizes, modes
        name = "/".join(draw(st.lists(_SEGMENT, min_size=1, max_size=12)))
        info = tarfile.TarInfo(name)
        info.type = draw(_KINDS)
        info.mode = draw(st.integers(0, 0o7777))
        data = b""
        if info.type == tarfile.REGTYPE:
            data = draw(st.binary(max_size=1500))
            info.size = len(data)
        elif info.type in {tarfile.SYMTYPE, tarfile.LNKTYPE}:
            info.linkname = "/".join(draw(st.lists(_SEGMENT, min_size=1, max_size=12)))
        members.append((info, data))
    return members


def _archive(members: list[tuple[tarfile.TarInfo, bytes]], tar_format: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tar_format, encoding="utf-8") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


def _ours(
    data: bytes, *, in_place: Path | None = None, replayed: bool = False
) -> list[tuple[str, str, int, int, str, bytes]]:
    """Entries and contents as our reader gives them: streamed, in place, or (``replayed``) from an
    index made by one reader, sent through its byte encoding, and replayed by another."""

    def read(reader: TarReader, entries: Iterable[TarEntry]) -> list[tuple[str, str, int, int, str, bytes]]:
        # tarfile drops the "/" it writes after a directory's name; the layer reader normalises it
        return [
            (e.name.removesuffix("/") if e.isdir() else e.name, e.type, e.mode, e.size, e.linkname,
             reader.read() if e.isreg() else b"")
            for e in entries
        ]  # fmt: skip

    if in_place is None:  # a stream in uneven chunks, as an inflater hands them over
        reader = TarReader(iter([data[i : i + 700] for i in range(0, len(data), 700)]))
        return read(reader, reader)
    in_place.write_bytes(b"x" * 33 + data)  # the tar at an offset inside a larger file, as in a docker archive
    fd = os.open(in_place, os.O_RDONLY)
    try:
        reader = TarReader(FileSource(fd, 33, len(data)))
        if not replayed:
            return read(reader, reader)
        index = TarIndex.decode(*TarReader(FileSource(fd, 33, len(data))).index(10_000).encode())
        return read(reader, reader.replay(index))
    finally:
        os.close(fd)


def _tarfile(data: bytes) -> list[tuple[str, str, int, int, str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:", encoding="utf-8", errors="surrogateescape") as tar:
        return [
            (
                m.name,
                m.type.decode(),
                m.mode,
                m.size if m.isreg() else 0,
                m.linkname if m.issym() or m.islnk() else "",
                tar.extractfile(m).read() if m.isreg() else b"",  # type: ignore[union-attr]
            )
            for m in tar
        ]


@settings(max_examples=150, deadline=None)
@given(members=_members(), tar_format=st.sampled_from(sorted(_FORMATS)))
def test_entries_match_tarfile_streamed_and_in_place(
    members: list[tuple[tarfile.TarInfo, bytes]], tar_format: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    try:
        data = _archive(members, _FORMATS[tar_format])
    except ValueError:  # plain ustar cannot hold a name or link this long
        reject()
    expected = _tarfile(data)
    assert _ours(data) == expected
    assert _ours(data, in_place=tmp_path_factory.mktemp("tar") / "layer.tar") == expected
    assert _ours(data, in_place=tmp_path_factory.mktemp("tar") / "layer.tar", replayed=True) == expected


@settings(max_examples=300)
@given(header=st.binary(min_size=512, max_size=512))
def test_checksum_is_tarfiles_unsigned_checksum(header: bytes) -> None:
    # the sum of 512 bytes runs up to 130,560, past adler32's modulus: the halves must keep it exact
    assert _checksum(header) == tarfile.calc_chksums(header)[0]


def test_checksum_extremes_are_exact() -> None:
    for header in (b"\xff" * 512, b"\0" * 512, b"\xff" * 256 + b"\0" * 256, b"\0" * 256 + b"\xff" * 256):
        assert _checksum(header) == tarfile.calc_chksums(header)[0]


@pytest.mark.parametrize("offset", [0, 99, 100, 123, 150, 156, 255, 256, 257, 400, 511])
def test_a_changed_header_byte_is_refused(offset: int) -> None:
    data = bytearray(_archive([(tarfile.TarInfo("etc/passwd"), b"")], tarfile.GNU_FORMAT))
    data[offset] = (data[offset] + 1) % 256
    with pytest.raises(UnsafeArchiveError, match=r"not a valid tar archive|checksum"):
        list(TarReader(iter([bytes(data)])))


def test_a_changed_second_header_names_the_checksum() -> None:
    members = [(tarfile.TarInfo("a"), b""), (tarfile.TarInfo("b"), b"")]
    data = bytearray(_archive(members, tarfile.USTAR_FORMAT))
    data[512 + 1] = ord("x")  # the second header's name
    with pytest.raises(UnsafeArchiveError, match="checksum does not match"):
        list(TarReader(iter([bytes(data)])))


def test_an_octal_field_with_garbage_is_refused() -> None:
    data = bytearray(_archive([(tarfile.TarInfo("a"), b"")], tarfile.USTAR_FORMAT))
    data[124:136] = b"12x4\0       "  # the size field
    data[148:156] = b"        "
    data[148:155] = f"{tarfile.calc_chksums(bytes(data[:512]))[0]:06o}\0".encode()
    with pytest.raises(UnsafeArchiveError, match="invalid size"):
        list(TarReader(iter([bytes(data)])))


_PIECES = ["a", "b", ".", "/", "..", "./", "é", "\udc80", "\U0001f600", " "]
_NAME = st.lists(st.sampled_from(_PIECES), max_size=20).map("".join)


@settings(max_examples=2000)
@given(name=_NAME)
def test_member_path_fast_path_agrees_with_the_checked_path(name: str) -> None:
    limits = LayerLimits(max_path_bytes=24)  # small, so that the length check is exercised too
    fast: list[str] = []
    checked: list[str] = []
    assert _safe_member_path(name, limits, fast.append, "d") == _checked_member_path(name, limits, checked.append, "d")
    assert fast == checked


def test_positional_reads_see_the_current_entry_whatever_was_consumed(tmp_path: Path) -> None:
    first, second = bytes(range(256)) * 20, b"second file " * 300
    members = [(tarfile.TarInfo(name), content) for name, content in (("a", first), ("b", second))]
    for info, content in members:
        info.size = len(content)
    data = _archive(members, tarfile.GNU_FORMAT)
    path = tmp_path / "layer.tar"
    path.write_bytes(b"pad" + data)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = TarReader(FileSource(fd, 3, len(data)))
        seen = []
        for entry, content in zip(reader, (first, second), strict=True):
            read = reader.read_at()
            assert read is not None
            assert read(0, 16) == content[:16]
            reader.read(1000)  # consumed part of it: positions stay those of the entry
            assert read(100, 50) == content[100:150]
            again = reader.read_at()  # asked for after the consumption
            assert again is not None
            assert again(100, 50) == content[100:150]
            assert read(len(content) - 4, 100) == content[-4:]  # never past the entry
            assert read(len(content) + 10, 5) == b""
            seen.append(entry.name)
        assert seen == ["a", "b"]
    finally:
        os.close(fd)
    assert TarReader(iter([data])).read_at() is None  # a stream has no positions


def test_positional_reads_inside_the_window_already_read_make_no_system_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An executable's magic and a small one's section table lie in the window read with its header."""
    content = bytes(range(256)) * 40  # 10 KiB: inside the 64 KiB window
    info = tarfile.TarInfo("usr/bin/tool")
    info.size = len(content)
    data = _archive([(info, content)], tarfile.GNU_FORMAT)
    path = tmp_path / "layer.tar"
    path.write_bytes(data)
    calls: list[tuple[int, int]] = []
    real = os.pread

    def counted(fd: int, size: int, offset: int) -> bytes:
        calls.append((size, offset))
        return real(fd, size, offset)

    monkeypatch.setattr(os, "pread", counted)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = TarReader(FileSource(fd, 0, len(data)))
        next(iter(reader))
        window = len(calls)  # the header and what follows it, read in one call
        read = reader.read_at()
        assert read is not None
        assert read(0, 4) == content[:4]
        assert read(len(content) - 64, 64) == content[-64:]
        assert len(calls) == window
    finally:
        os.close(fd)


# --- sparse files: written by GNU tar itself, in each of its four sparse formats ---------------

_SPARSE_FORMATS = {
    "gnu": ["--format=gnu"],
    "pax-0.0": ["--format=pax", "--sparse-version=0.0"],
    "pax-0.1": ["--format=pax", "--sparse-version=0.1"],
    "pax-1.0": ["--format=pax", "--sparse-version=1.0"],
}


def _sparse_tar(tmp_path: Path, tar_format: str, layout: list[tuple[int, bytes]], size: int) -> tuple[bytes, bytes]:
    """(a tar made by ``tar --sparse`` of one file with data at the given offsets and holes
    between, the file's content)."""
    import shutil
    import subprocess

    tar = shutil.which("tar")
    assert tar is not None, "GNU tar is needed (Debian's tar package)"
    root = tmp_path / f"root-{tar_format}"
    (root / "var" / "lib" / "dpkg").mkdir(parents=True)
    path = root / "var" / "lib" / "dpkg" / "status"
    with path.open("wb") as out:
        for offset, data in layout:
            out.seek(offset)
            out.write(data)
        out.truncate(size)
    archive = tmp_path / f"{tar_format}.tar"
    subprocess.run([tar, "--sparse", *_SPARSE_FORMATS[tar_format], "-cf", str(archive), "-C", str(root), "var"],
                   check=True)  # fmt: skip
    return archive.read_bytes(), path.read_bytes()


_LAYOUTS = {
    "a hole in the middle": ([(0, b"Package: bash\n" * 10), (300_000, b"Package: zlib1g\n" * 10)], 300_160),
    "holes at both ends": ([(200_000, b"data " * 100)], 900_000),
    # 30 data runs: more than an old GNU header holds (4), so its map continues in extension blocks
    "thirty runs": ([(i * 40_960, bytes([65 + i]) * 700) for i in range(30)], 30 * 40_960 + 5),
    # 150 runs: PAX 1.0's map takes several blocks, old GNU's several extension blocks
    "a long map": ([(i * 12_288, bytes([i % 200 + 1]) * 100) for i in range(150)], 150 * 12_288),
}


@pytest.mark.parametrize("tar_format", sorted(_SPARSE_FORMATS))
@pytest.mark.parametrize("layout", sorted(_LAYOUTS))
def test_sparse_files_read_as_their_real_content(tmp_path: Path, tar_format: str, layout: str) -> None:
    """A sparse file is the file it stands for (holes read as zeros), at its real name, as
    Go's archive/tar (containerd, trivy, syft) reads it: otherwise a layer could hide its dpkg
    database, or a program, from the scan alone."""
    data, content = _sparse_tar(tmp_path, tar_format, *_LAYOUTS[layout])
    entries = _ours(data)
    assert [(name, size) for name, _, _, size, _, _ in entries if name.endswith("status")] == [
        ("var/lib/dpkg/status", len(content))
    ]
    assert next(e[5] for e in entries if e[0].endswith("status")) == content
    in_place = _ours(data, in_place=tmp_path / "in-place.tar")
    assert in_place == entries
    assert _ours(data, in_place=tmp_path / "replayed.tar", replayed=True) == entries
    # spooled: holes stay holes, the bytes are the same
    reader = TarReader(iter([data[i : i + 700] for i in range(0, len(data), 700)]))
    entry = next(e for e in reader if e.name.endswith("status"))
    assert entry.isreg()
    assert entry.sparse is not None
    head = reader.read(5)
    spool = tmp_path / "spool"
    with spool.open("wb") as out:
        out.write(head)
        reader.copy_to(out)
    assert spool.read_bytes() == content
    assert list(reader) == []  # the archive goes on correctly after it


@pytest.mark.parametrize(
    ("records", "stored", "message"),
    [
        ({"GNU.sparse.map": "0,10,5,10", "GNU.sparse.size": "100"}, 20, "malformed"),  # overlapping runs
        ({"GNU.sparse.map": "0,10,95,10", "GNU.sparse.size": "100"}, 20, "malformed"),  # past the real size
        ({"GNU.sparse.map": "0,10,50,10", "GNU.sparse.size": "100"}, 30, "does not match"),  # data left over
        ({"GNU.sparse.map": "0,10,50", "GNU.sparse.size": "100"}, 10, "malformed"),  # an odd count
        ({"GNU.sparse.map": "0,x", "GNU.sparse.size": "100"}, 10, "malformed"),
        ({"GNU.sparse.map": "0,10"}, 10, "malformed"),  # no real size
    ],
)
def test_a_malformed_sparse_map_is_refused(records: dict[str, str], stored: int, message: str) -> None:
    info = tarfile.TarInfo("GNUSparseFile.0/status")
    info.size = stored
    info.pax_headers = {**records, "GNU.sparse.name": "var/lib/dpkg/status"}
    data = _archive([(info, b"x" * stored)], tarfile.PAX_FORMAT)
    with pytest.raises(UnsafeArchiveError, match=message):
        list(TarReader(iter([data])))


def test_a_sparse_map_block_that_never_ends_is_refused() -> None:
    """PAX sparse 1.0 keeps its map in the data: a map that claims more runs than the data can hold
    stops at the data's end, not after reading the rest of the layer as numbers."""
    info = tarfile.TarInfo("GNUSparseFile.0/status")
    body = b"99999\n" + b"1\n" * 3000
    info.size = len(body)
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.realsize": "10",
                        "GNU.sparse.name": "status"}  # fmt: skip
    data = _archive([(info, body)], tarfile.PAX_FORMAT)
    with pytest.raises(UnsafeArchiveError, match="map is malformed or too long"):
        list(TarReader(iter([data])))


@pytest.mark.parametrize("tar_format", sorted(_SPARSE_FORMATS))
def test_a_dpkg_database_stored_sparse_is_inventoried(tmp_path: Path, tar_format: str) -> None:
    import gzip
    import hashlib

    from wharfinger.inventory.catalog import catalog_layers
    from wharfinger.inventory.layer_input import LayerInput

    first = b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n\n"
    second = b"\nPackage: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13.dfsg-1\nArchitecture: amd64\n\n"
    data, _ = _sparse_tar(tmp_path, tar_format, [(0, first), (1_048_576, second)], 1_048_576 + len(second))
    blob = gzip.compress(data)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    inventory = catalog_layers([LayerInput(digest=digest, media_type="x", open=lambda: io.BytesIO(blob))], store=None)
    assert sorted((p.name, p.version) for p in inventory.packages) == [
        ("bash", "5.2.15-2+b2"),
        ("zlib1g", "1:1.2.13.dfsg-1"),
    ]
    assert inventory.warnings == ()


def _layer_file(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> tuple[int, int]:
    data = _archive(members, tarfile.PAX_FORMAT)
    path = tmp_path / "layer.tar"
    path.write_bytes(data)
    return os.open(path, os.O_RDONLY), len(data)


def _file(name: str, data: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    return info, data


def test_replayed_entries_read_in_place_as_after_a_parse(tmp_path: Path) -> None:
    """Positional reads, partial reads and copies of a replayed entry see that entry's bytes,
    whatever was read of the others (each entry is sought to, not read after the one before)."""
    program, large = b"\x7fELF" + os.urandom(70_000), os.urandom(300_000)
    fd, size = _layer_file(tmp_path, [_file("bin/app", program, 0o755), _file("a", b"first"), _file("b", large)])
    try:
        index = TarIndex.decode(*TarReader(FileSource(fd, 0, size)).index(10).encode())
        reader = TarReader(FileSource(fd, 0, size))
        replayed = reader.replay(index)
        entry = next(replayed)
        read_at = reader.read_at()
        assert read_at is not None
        assert (entry.name, entry.mode, entry.size) == ("bin/app", 0o755, len(program))
        assert read_at(0, 4) == b"\x7fELF"
        assert read_at(len(program) - 10, 100) == program[-10:]
        assert reader.read(4) + reader.read() == program
        next(replayed)  # "a", not read
        entry = next(replayed)
        spool = tmp_path / "spool"
        with spool.open("wb") as out:
            reader.copy_to(out)
        assert entry.name == "b"
        assert spool.read_bytes() == large
        assert list(replayed) == []
    finally:
        os.close(fd)


def test_an_index_refuses_more_entries_than_its_limit(tmp_path: Path) -> None:
    fd, size = _layer_file(tmp_path, [_file(f"f{i}", b"x") for i in range(3)])
    try:
        assert len(TarReader(FileSource(fd, 0, size)).index(3)) == 3
        with pytest.raises(UnsafeArchiveError, match="more than 2 entries"):
            TarReader(FileSource(fd, 0, size)).index(2)
    finally:
        os.close(fd)


def test_an_index_is_only_made_of_a_tar_in_a_file() -> None:
    with pytest.raises(TypeError):
        TarReader(iter([b""])).index(10)


def _index(names: list[str], sparse: dict[int, tuple[tuple[int, int], ...]] | None = None) -> TarIndex:
    from array import array

    count = len(names)
    return TarIndex(
        names=names,
        kinds="0" * count,
        modes=array("q", [0o644] * count),
        sizes=array("q", [10] * count),
        links=[""] * count,
        offsets=array("q", [512 * (i + 1) for i in range(count)]),
        stored=array("q", [10] * count),
        sparse=sparse or {},
    )


def test_an_index_survives_its_encoding() -> None:
    names = ["etc/os-release", "caf\udce9", "", "usr/bin/\u00e9"]  # a name that is not UTF-8, an empty one
    original = _index(names, sparse={1: ((0, 4), (8, 2)), 3: ()})
    decoded = TarIndex.decode(*original.encode())
    assert decoded.names == names
    assert decoded.sparse == original.sparse
    assert (decoded.kinds, list(decoded.offsets), decoded.links) == (original.kinds, list(original.offsets), [""] * 4)
    assert len(TarIndex.decode(*_index([]).encode())) == 0


def test_a_name_with_a_nul_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="NUL"):
        _index(["a\0b", "c"]).encode()


@pytest.mark.parametrize(
    "damage",
    [
        lambda words, data: (words, data[:-1]),  # cut short
        lambda words, data: (words, data + b"\0"),  # longer than described
        lambda words, data: ([str(int(words[0]) + 1), *words[1:]], data),  # an entry more than there is
        lambda words, data: ([words[0], str(int(words[1]) - 2), str(int(words[2]) + 2), words[3]], data),  # a name lost
        lambda words, data: (["-1", *words[1:]], data),
        lambda words, data: (words[:3], data),  # a word missing
        lambda words, data: (["x", *words[1:]], data),
    ],
    ids=["short", "long", "count", "names", "negative", "words", "not-a-number"],
)
def test_an_index_of_the_wrong_shape_is_refused(damage: Callable[[list[str], bytes], tuple[list[str], bytes]]) -> None:
    words, data = _index(["a", "b/c", "d"], sparse={1: ((0, 5),)}).encode()
    with pytest.raises(ValueError):
        TarIndex.decode(*damage(words, data))


@pytest.mark.parametrize("numbers", [[5, 1, 0, 10], [1, 3, 0, 10], [0], [-1, 0]], ids=["entry", "runs", "cut", "neg"])
def test_an_index_with_a_malformed_sparse_map_is_refused(numbers: list[int]) -> None:
    from array import array

    words, data = _index(["a", "b"]).encode()
    extra = array("q", numbers).tobytes()
    with pytest.raises(ValueError, match="sparse"):
        TarIndex.decode([*words[:3], str(len(numbers))], data + extra)
