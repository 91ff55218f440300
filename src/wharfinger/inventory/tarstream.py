"""A forward-only tar reader for layer streams: headers parsed, contents read or skipped in bulk.

``tarfile`` in stream mode copies its whole read buffer on every 512-byte header read and skips
contents ``bufsize`` bytes at a time; on a layer of tens of thousands of files that costs more
than inflating it. This reader keeps one buffer with an offset, parses ustar, GNU (``L``/``K`` long
names, base-256 numbers) and PAX (``x`` records: ``path``, ``linkpath``, ``size``) headers, checks
every header checksum, and bounds the size of long names and PAX records.

Over a stream of chunks (``TarReader(chunks)``) skipping still reads every byte; over a tar lying
uncompressed in a file (``TarReader(FileSource(…))``) it seeks, so only headers and the contents
asked for are read.

A tar lying in a file can also be parsed by one process and read by another: ``TarReader.index``
gives every entry with where its content lies (``TarIndex``, columns that encode to bytes in a few C
calls), and ``TarReader.replay`` yields those entries, their contents read as after a parse. The
layer-hashing helper parses a docker-archive's layers this way while the command starts up
(``inventory.layer_hasher``).
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Callable, Iterator
from zlib import adler32

from wharfinger.errors import UnsafeArchiveError

# typing's constant, without importing typing (~6 ms of the hashing helper's start-up, which imports
# this module alone); mypy reads any name TYPE_CHECKING as true
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ["FileSource", "TarEntry", "TarIndex", "TarReader"]

BLOCK = 512
_MAX_META_BYTES = 1024 * 1024  # bytes: a GNU long name or PAX header larger than this is hostile

REGULAR, HARDLINK, SYMLINK, CHAR, BLOCK_DEVICE, DIRECTORY, FIFO, CONTIGUOUS = "0", "1", "2", "3", "4", "5", "6", "7"
_NO_CONTENT = frozenset({DIRECTORY, SYMLINK, HARDLINK, CHAR, BLOCK_DEVICE, FIFO})  # no data follows these
_LINKS = frozenset({SYMLINK, HARDLINK})
_EMPTY = memoryview(b"")


class TarEntry:
    """One entry's header. A plain class rather than a dataclass: the hashing helper imports this
    module at its start-up, on the clock of every cold ``sbom`` of a docker-archive, and
    ``dataclasses`` (with ``inspect``) was 17 of its 28 ms."""

    __slots__ = ("linkname", "mode", "name", "size", "sparse", "type")

    def __init__(  # noqa: PLR0917 -- a tar header's fields, in their order
        self,
        name: str,
        type: str,  # noqa: A002 -- tar's own word for it
        mode: int,
        size: int,
        linkname: str,
        sparse: tuple[tuple[int, int], ...] | None = None,
    ) -> None:
        self.name = name
        self.type = type  # one of the constants above ("\0" is read as REGULAR, a GNU sparse file too)
        self.mode = mode
        self.size = size  # of the file (a sparse file's real size, holes included)
        self.linkname = linkname
        # a sparse file's data, as (offset, length) in the file; the rest are holes, read as zeros
        self.sparse = sparse

    def __repr__(self) -> str:
        return (
            f"TarEntry({self.name!r}, {self.type!r}, mode={self.mode:o}, size={self.size}, linkname={self.linkname!r})"
        )

    def isreg(self) -> bool:
        return self.type in {REGULAR, CONTIGUOUS}

    def isdir(self) -> bool:
        return self.type == DIRECTORY

    def issym(self) -> bool:
        return self.type == SYMLINK

    def islnk(self) -> bool:
        return self.type == HARDLINK


class _Buffered:
    """Exact reads and copies over a buffer that ``_fill`` refills (at least ``size`` bytes wanted)."""

    _buffer: memoryview

    def _fill(self, size: int) -> bool:
        raise NotImplementedError

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the stream (or of a truncated file)."""
        if len(self._buffer) >= size:
            out = bytes(self._buffer[:size])
            self._buffer = self._buffer[size:]
            return out
        parts = [bytes(self._buffer)]
        missing = size - len(self._buffer)
        self._buffer = memoryview(b"")
        while missing > 0 and self._fill(missing):
            take = self._buffer[:missing]
            parts.append(bytes(take))
            missing -= len(take)
            self._buffer = self._buffer[len(take) :]
        return b"".join(parts)

    def copy_to(self, size: int, out: BinaryIO) -> int:
        copied = 0
        while copied < size:
            if not self._buffer and not self._fill(size - copied):
                break
            take = min(size - copied, len(self._buffer))
            out.write(self._buffer[:take])
            self._buffer = self._buffer[take:]
            copied += take
        return copied


class _Source(_Buffered):
    """Bytes from an iterator of chunks, with exact reads and bulk skips."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = memoryview(b"")

    def _fill(self, size: int) -> bool:  # noqa: ARG002 -- a chunk is what the stream hands over
        for chunk in self._chunks:
            if chunk:
                self._buffer = memoryview(chunk)
                return True
        return False

    def skip(self, size: int) -> int:
        skipped = 0
        while skipped < size:
            if not self._buffer and not self._fill(size - skipped):
                break
            take = min(size - skipped, len(self._buffer))
            self._buffer = self._buffer[take:]
            skipped += take
        return skipped


class FileSource(_Buffered):
    """``size`` bytes at ``offset`` of an open file descriptor, with exact reads and seeking skips.

    Reads are positional (``os.pread``): the descriptor's offset is never moved, so another
    thread may read the same descriptor. The caller owns (and closes) it. A file shorter than
    ``offset + size`` reads short at its end, which the tar reader reports as truncated.
    """

    _WINDOW = 64 * 1024  # bytes read at least: a header and the small files after it, in one call
    _MAX_READ = 1024 * 1024  # bytes read at most: a large selected file is copied a piece at a time

    def __init__(self, fd: int, offset: int, size: int) -> None:
        self._fd = fd
        self._position = offset  # file offset of the first byte not yet consumed or buffered
        self._end = offset + size
        self._buffer = memoryview(b"")

    def _fill(self, size: int) -> bool:
        want = min(max(size, self._WINDOW), self._MAX_READ, self._end - self._position)
        data = os.pread(self._fd, want, self._position) if want > 0 else b""
        self._position += len(data)
        self._buffer = memoryview(data)
        return bool(data)

    def position(self) -> int:
        """The file offset of the first byte not yet consumed."""
        return self._position - len(self._buffer)

    def seek(self, position: int) -> None:
        """Go to file offset ``position`` (what was buffered is dropped; the next read reads there)."""
        self._position = position
        self._buffer = _EMPTY

    def pread(self, position: int, size: int) -> bytes:
        """Up to ``size`` bytes at file offset ``position``, consuming nothing; never past the tar's end."""
        want = min(size, self._end - position)
        if want <= 0:
            return b""
        buffered = self._position - len(self._buffer)  # file offset of the buffer's first byte
        if buffered <= position and position + want <= self._position:
            # already read with the header before it: an executable's magic, a small one's section table
            return bytes(self._buffer[position - buffered : position - buffered + want])
        return os.pread(self._fd, want, position)

    def skip(self, size: int) -> int:
        buffered = len(self._buffer)
        if size <= buffered:
            self._buffer = self._buffer[size:]
            return size
        beyond = min(size - buffered, self._end - self._position)
        self._buffer = memoryview(b"")
        self._position += beyond  # not read: the hashing thread reads these bytes, this one seeks
        return buffered + beyond


def _number(field: bytes, what: str) -> int:
    if field[0] & 0x80:  # GNU base-256 for values that do not fit in octal
        value = int.from_bytes(field[1:], "big")
        return -value if field[0] & 0x40 else value
    text = field.partition(b"\0")[0]
    try:
        return int(text, 8)  # int() strips the spaces some writers pad with
    except ValueError:
        if not text.strip(b" "):
            return 0  # an empty field: tar's zero
        raise UnsafeArchiveError(f"tar header has an invalid {what}", hint="the layer is corrupt") from None


def _checksum(header: bytes) -> int:
    """The ustar checksum: the header's bytes summed, its checksum field counted as 8 spaces.

    ``zlib.adler32`` keeps the plain byte sum, plus one, modulo 65521 in its low half: over 256
    bytes (at most 65,280) that sum is exact, so two halves give it in C at ~20x the speed of
    ``sum()``, which was a tenth of the parse of a layer of small files.
    """
    return (adler32(header[:256]) & 0xFFFF) + (adler32(header[256:]) & 0xFFFF) - 2 - sum(header[148:156]) + 256


def _text(field: bytes) -> str:
    return field.partition(b"\0")[0].decode("utf-8", "surrogateescape")


_NO_RECORDS: dict[str, str] = {}  # an entry without PAX records (read only: one dict for all of them)
_MAX_SPARSE_ENTRIES = 100_000  # data runs in one sparse file's map: more is a hostile layer
_OLD_GNU_SPARSE = "S"  # GNU tar's sparse type: the map in the header and extension blocks


def _sparse_map(numbers: list[int], real_size: int, stored: int) -> tuple[tuple[int, int], ...]:
    """Pairs of (offset, length), checked as Go's archive/tar checks them: in order, inside the
    file, not overlapping, and adding up to the bytes stored."""
    if len(numbers) % 2 or len(numbers) > 2 * _MAX_SPARSE_ENTRIES:
        raise UnsafeArchiveError("a sparse file's map is malformed or too long", hint="a hostile layer; refusing it")
    runs = tuple(zip(numbers[::2], numbers[1::2], strict=True))
    end = 0
    for offset, length in runs:
        if offset < end or length < 0 or offset + length > real_size:
            raise UnsafeArchiveError("a sparse file's map is malformed", hint="the layer is corrupt or hostile")
        end = offset + length
    if sum(length for _, length in runs) != stored:
        raise UnsafeArchiveError("a sparse file's map does not match its data", hint="the layer is corrupt")
    return runs


def _octal_runs(area: bytes, count: int) -> list[int]:
    """Old GNU sparse entries: ``count`` pairs of 12-byte octal offset and length; an empty offset ends them."""
    numbers: list[int] = []
    for i in range(count):
        entry = area[i * 24 : i * 24 + 24]
        if not entry[:1] or entry[0] == 0:
            break
        numbers += [_number(entry[:12], "sparse offset"), _number(entry[12:], "sparse length")]
    return numbers


def _pax_records(data: bytes) -> dict[str, str]:
    records: dict[str, str] = {}
    position = 0
    while position < len(data):
        space = data.find(b" ", position)
        if space == -1:
            break
        try:
            length = int(data[position:space])
        except ValueError as exc:
            raise UnsafeArchiveError("a PAX header record is malformed", hint="the layer is corrupt") from exc
        if length <= 0 or position + length > len(data):
            raise UnsafeArchiveError("a PAX header record is malformed", hint="the layer is corrupt")
        key, _, value = data[space + 1 : position + length - 1].partition(b"=")
        name = key.decode("utf-8", "replace")
        text = value.decode("utf-8", "surrogateescape")
        if name in {"GNU.sparse.offset", "GNU.sparse.numbytes"}:  # PAX sparse 0.0: the map as repeated records
            records["GNU.sparse.map"] = f"{records['GNU.sparse.map']},{text}" if "GNU.sparse.map" in records else text
        else:
            records[name] = text
        position += length
    return records


class TarIndex:
    """Every entry of one tar lying in a file, and where its content lies (``TarReader.index``).

    Made in one process and read in another (``encode``/``decode``): the columns become bytes, and
    back, in a few C calls whatever the number of entries (deb-min's 9,190 entries: well under a
    millisecond), and a decoded index is checked by its shape alone (every column as long as the
    names) rather than entry by entry. ``TarReader.replay`` yields its entries.
    """

    __slots__ = ("kinds", "links", "modes", "names", "offsets", "sizes", "sparse", "stored")

    def __init__(
        self,
        *,
        names: list[str],
        kinds: str,
        modes: array[int],
        sizes: array[int],
        links: list[str],
        offsets: array[int],
        stored: array[int],
        sparse: dict[int, tuple[tuple[int, int], ...]],
    ) -> None:
        self.names = names
        self.kinds = kinds  # one character an entry: its type
        self.modes = modes
        self.sizes = sizes  # of the file (a sparse file's real size)
        self.links = links
        self.offsets = offsets  # file offset of each entry's stored content
        self.stored = stored  # bytes of content stored (a sparse file's data runs only)
        self.sparse = sparse  # a sparse file's data runs, by entry number

    def __len__(self) -> int:
        return len(self.names)

    def encode(self) -> tuple[list[str], bytes]:
        """(the words that describe the sections, the bytes); ``ValueError`` if a name holds a NUL."""
        names = "\0".join(self.names)
        links = "\0".join(self.links)
        if len(self) and (names.count("\0") != len(self) - 1 or links.count("\0") != len(self) - 1):
            raise ValueError("a name holds a NUL character")
        sparse = array("q")
        for number, runs in sorted(self.sparse.items()):
            sparse.extend((number, len(runs), *(n for run in runs for n in run)))
        name_bytes = names.encode("utf-8", "surrogateescape")
        link_bytes = links.encode("utf-8", "surrogateescape")
        words = [str(len(self)), str(len(name_bytes)), str(len(link_bytes)), str(len(sparse))]
        data = b"".join(
            (
                self.kinds.encode("latin-1"),
                *(column.tobytes() for column in (self.modes, self.sizes, self.offsets, self.stored)),
                name_bytes,
                link_bytes,
                sparse.tobytes(),
            )
        )
        return words, data

    @classmethod
    def decode(cls, words: list[str], data: bytes) -> TarIndex:
        """The index ``encode`` described; ``ValueError`` if the bytes do not have its shape."""
        count, name_length, link_length, sparse_length = (int(word) for word in words)
        width = array("q").itemsize
        if min(count, name_length, link_length, sparse_length) < 0 or len(data) != (
            count * (1 + 4 * width) + name_length + link_length + sparse_length * width
        ):
            raise ValueError("the index's sections do not add up to its size")
        columns = []
        at = count
        for _ in range(4):
            column = array("q")
            column.frombytes(data[at : at + count * width])
            columns.append(column)
            at += count * width
        texts = []
        for length in (name_length, link_length):
            text = data[at : at + length].decode("utf-8", "surrogateescape")
            texts.append(text.split("\0") if count else [])
            at += length
        if any(len(text) != count for text in texts):
            raise ValueError("the index's names do not match its entries")
        numbers = array("q")
        numbers.frombytes(data[at:])
        sparse: dict[int, tuple[tuple[int, int], ...]] = {}
        position = 0
        while position < len(numbers):
            number, runs = numbers[position], numbers[position + 1] if position + 1 < len(numbers) else -1
            pairs = numbers[position + 2 : position + 2 + 2 * runs]
            if not 0 <= number < count or runs < 0 or len(pairs) != 2 * runs:
                raise ValueError("the index's sparse maps are malformed")
            sparse[number] = tuple(zip(pairs[::2], pairs[1::2], strict=True))
            position += 2 + 2 * runs
        modes, sizes, offsets, stored = columns
        return cls(
            names=texts[0],
            kinds=data[:count].decode("latin-1"),
            modes=modes,
            sizes=sizes,
            links=texts[1],
            offsets=offsets,
            stored=stored,
            sparse=sparse,
        )


class TarReader:
    """Iterate entries; after each entry, its content may be read (``read``/``copy_to``) or left to skip."""

    def __init__(self, chunks: Iterator[bytes] | FileSource) -> None:
        self._source = chunks if isinstance(chunks, FileSource) else _Source(chunks)
        self._remaining = 0  # content bytes of the current entry not yet consumed
        self._size = 0  # content bytes of the current entry
        self._padding = 0
        # a sparse entry: its data runs, which of them is next, where reading is in the file, its size
        self._runs: tuple[tuple[int, int], ...] | None = None
        self._run = 0
        self._logical = 0
        self._real_size = 0

    def _finish_entry(self) -> None:
        if self._remaining or self._padding:
            self._source.skip(self._remaining + self._padding)
            self._remaining = self._padding = 0

    def read(self, size: int = -1) -> bytes:
        """Content of the current entry (up to ``size`` bytes, all if negative); a sparse file's holes
        read as zeros."""
        if self._runs is not None:
            return self._read_sparse(self._real_size - self._logical if size < 0 else size)
        want = self._remaining if size < 0 else min(size, self._remaining)
        return self._read_stored(want)

    def _read_stored(self, want: int) -> bytes:
        data = self._source.read(want)
        self._remaining -= len(data)
        if len(data) < want:
            raise UnsafeArchiveError("the layer ends inside a file", hint="the blob is truncated")
        return data

    def _read_sparse(self, size: int) -> bytes:
        runs = self._runs or ()
        end = min(self._logical + max(size, 0), self._real_size)
        parts: list[bytes] = []
        while self._logical < end:
            if self._run < len(runs) and runs[self._run][0] + runs[self._run][1] <= self._logical:
                self._run += 1
                continue
            offset, length = runs[self._run] if self._run < len(runs) else (self._real_size, 0)
            if self._logical < offset:  # in a hole
                take = min(offset, end) - self._logical
                parts.append(bytes(take))
            else:
                take = min(offset + length, end) - self._logical
                parts.append(self._read_stored(take))
            self._logical += take
        return b"".join(parts)

    def read_at(self) -> Callable[[int, int], bytes] | None:
        """Positional reads of the current entry's content, ``read(offset, size)``, when the tar lies
        in a file (None for a stream); they consume nothing, so what is not read is still skipped."""
        source = self._source
        if not isinstance(source, FileSource) or self._runs is not None:
            return None  # a stream; or a sparse file, whose bytes lie apart
        start = source.position() - (self._size - self._remaining)  # where this entry's content begins
        size = self._size

        def read(offset: int, want: int) -> bytes:
            return source.pread(start + offset, min(want, size - offset)) if 0 <= offset < size else b""

        return read

    def copy_to(self, out: BinaryIO) -> None:
        """The rest of the content into ``out``, which holds what was read before (a sparse file's
        holes are left as holes: ``out`` is sought over them)."""
        if self._runs is not None:
            for offset, length in self._runs[self._run :]:
                start = max(offset, self._logical)
                if start >= offset + length:
                    continue
                out.seek(start)
                want = offset + length - start
                if self._source.copy_to(want, out) < want:
                    raise UnsafeArchiveError("the layer ends inside a file", hint="the blob is truncated")
                self._remaining -= want
            out.truncate(self._real_size)
            self._logical, self._run = self._real_size, len(self._runs)
            return
        copied = self._source.copy_to(self._remaining, out)
        if copied < self._remaining:
            raise UnsafeArchiveError("the layer ends inside a file", hint="the blob is truncated")
        self._remaining = 0

    def _meta(self, size: int) -> bytes:
        if size > _MAX_META_BYTES:
            raise UnsafeArchiveError(
                f"a tar long-name or PAX header of {size} bytes", hint="a hostile layer; refusing it"
            )
        data = self._source.read(size)
        self._source.skip(-size % BLOCK)
        if len(data) < size:
            raise UnsafeArchiveError("the layer ends inside a header", hint="the blob is truncated")
        return data

    def __iter__(self) -> Iterator[TarEntry]:
        long_name: str | None = None
        long_link: str | None = None
        pax: dict[str, str] = {}
        global_pax: dict[str, str] = {}
        first = True
        while True:
            self._finish_entry()
            header = self._source.read(BLOCK)
            if len(header) < BLOCK:
                if first:
                    raise UnsafeArchiveError("not a valid tar archive (too short)", hint="the blob is corrupt")
                return  # a missing end-of-archive marker: tolerated, as GNU tar does
            if header == b"\0" * BLOCK:
                return
            if _number(header[148:156], "checksum") != _checksum(header):
                raise UnsafeArchiveError(
                    "a tar header checksum does not match" if not first else "not a valid tar archive",
                    hint="the blob is corrupt or not a layer",
                )
            first = False
            kind = chr(header[156]) if header[156] else REGULAR
            size = _number(header[124:136], "size")
            if size < 0:
                raise UnsafeArchiveError("a tar header has a negative size", hint="the layer is corrupt")
            if kind == "L":
                long_name = _text(self._meta(size))
                continue
            if kind == "K":
                long_link = _text(self._meta(size))
                continue
            if kind == "x":
                pax.update(_pax_records(self._meta(size)))
                continue
            if kind == "g":
                global_pax.update(_pax_records(self._meta(size)))
                continue
            name = _text(header[:100])
            if header[257:263] == b"ustar\0" and header[345]:  # POSIX prefix field (GNU puts atime there)
                name = _text(header[345:500]) + "/" + name
            linkname = long_link or ""
            if kind in _LINKS and not linkname:
                linkname = _text(header[157:257])
            records = _NO_RECORDS
            if pax or global_pax:  # rare: a dict per entry only then
                records = {**global_pax, **pax}
                name = long_name or records.get("path") or name
                linkname = long_link or records.get("linkpath") or linkname
                if "size" in records:
                    try:
                        size = int(records["size"])
                    except ValueError as exc:
                        raise UnsafeArchiveError("a PAX size is not a number", hint="the layer is corrupt") from exc
                pax = {}
            elif long_name:
                name = long_name
            long_name = long_link = None
            content = 0 if kind in _NO_CONTENT else size
            self._padding = -content % BLOCK
            mode = _number(header[100:108], "mode") & 0o7777
            if kind == _OLD_GNU_SPARSE or (
                records and ("GNU.sparse.map" in records or records.get("GNU.sparse.major") == "1")
            ):  # holes are files too (GNU tar --sparse): read as containerd, trivy and syft read them
                if kind == _OLD_GNU_SPARSE:
                    kind = REGULAR
                    real_size, runs = self._old_gnu_sparse(header, content)
                else:
                    name = records.get("GNU.sparse.name") or name  # the header's name is GNU tar's placeholder
                    real_size, runs, content = self._pax_sparse(records, content)
                self._remaining = self._size = content
                self._runs, self._run, self._logical, self._real_size = runs, 0, 0, real_size
                yield TarEntry(name, kind, mode, real_size, linkname, runs)
                continue
            self._runs = None
            self._remaining = self._size = content
            yield TarEntry(name, kind, mode, content, linkname)

    def index(self, max_entries: int) -> TarIndex:
        """Every entry of a tar lying in a file (``FileSource``) and where its content lies, for
        ``replay`` by another reader of the same bytes; the same errors as iterating (and
        ``UnsafeArchiveError`` past ``max_entries``)."""
        source = self._source
        if not isinstance(source, FileSource):
            raise TypeError("only a tar lying in a file can be indexed")
        names: list[str] = []
        kinds: list[str] = []
        links: list[str] = []
        modes, sizes, offsets, stored = array("q"), array("q"), array("q"), array("q")
        sparse: dict[int, tuple[tuple[int, int], ...]] = {}
        for entry in self:
            if len(names) >= max_entries:
                raise UnsafeArchiveError(f"the tar has more than {max_entries} entries", hint="a hostile layer")
            if entry.sparse is not None:
                sparse[len(names)] = entry.sparse
            names.append(entry.name)
            kinds.append(entry.type)
            modes.append(entry.mode)
            sizes.append(entry.size)
            links.append(entry.linkname)
            offsets.append(source.position())  # the content follows the header(s) just read
            stored.append(self._size)
        return TarIndex(
            names=names,
            kinds="".join(kinds),
            modes=modes,
            sizes=sizes,
            links=links,
            offsets=offsets,
            stored=stored,
            sparse=sparse,
        )

    def replay(self, index: TarIndex) -> Iterator[TarEntry]:
        """The entries of ``index`` (made by ``index`` over the same bytes), as iterating would
        yield them: after each, its content may be read (``read``, ``read_at``, ``copy_to``) from
        where it lies. No header is read."""
        source = self._source
        if not isinstance(source, FileSource):
            raise TypeError("only a tar lying in a file can be replayed")
        sparse = index.sparse
        self._padding = 0
        columns = zip(
            index.names, index.kinds, index.modes, index.sizes, index.links, index.offsets, index.stored, strict=True
        )
        for number, (name, kind, mode, size, linkname, offset, stored) in enumerate(columns):
            source.seek(offset)
            self._remaining = self._size = stored
            runs = sparse.get(number) if sparse else None
            if runs is None:
                self._runs = None
            else:
                self._runs, self._run, self._logical, self._real_size = runs, 0, 0, size
            yield TarEntry(name, kind, mode, size, linkname, runs)

    def _old_gnu_sparse(self, header: bytes, stored: int) -> tuple[int, tuple[tuple[int, int], ...]]:
        """The map of an old GNU sparse entry: four runs in the header, 21 in each extension block
        that follows it (before the data) while the previous one says there is another."""
        numbers = _octal_runs(header[386:482], 4)
        extended = header[482]
        while extended:
            block = self._source.read(BLOCK)
            if len(block) < BLOCK:
                raise UnsafeArchiveError("the layer ends inside a sparse file's map", hint="the blob is truncated")
            numbers += _octal_runs(block[:504], 21)
            if len(numbers) > 2 * _MAX_SPARSE_ENTRIES:
                raise UnsafeArchiveError("a sparse file's map is too long", hint="a hostile layer; refusing it")
            extended = block[504]
        real_size = _number(header[483:495], "sparse size")
        return real_size, _sparse_map(numbers, real_size, stored)

    def _pax_sparse(self, records: dict[str, str], size: int) -> tuple[int, tuple[tuple[int, int], ...], int]:
        """(real size, map, data bytes after the map) of a PAX sparse entry: formats 0.0 and 0.1 keep
        the map in the records, 1.0 at the start of the data, as decimal lines padded to a block."""
        try:
            if records.get("GNU.sparse.major") == "1":
                real_size = int(records["GNU.sparse.realsize"])
                numbers, used = self._sparse_map_block(size)
                return real_size, _sparse_map(numbers, real_size, size - used), size - used
            real_size = int(records.get("GNU.sparse.size") or records["GNU.sparse.realsize"])
            listed = records["GNU.sparse.map"]
            numbers = [int(n) for n in listed.split(",")] if listed else []
        except (KeyError, ValueError) as exc:
            raise UnsafeArchiveError("a sparse file's PAX records are malformed", hint="the layer is corrupt") from exc
        return real_size, _sparse_map(numbers, real_size, size), size

    def _sparse_map_block(self, size: int) -> tuple[list[int], int]:
        """PAX sparse 1.0: the count of runs, then offset and length of each, one number a line.
        Blocks are read until the lines are all in (counted as they come: one split at the end)."""
        text = bytearray()
        used = lines = 0
        count: int | None = None
        while True:
            try:
                if count is None and lines:
                    count = int(text[: text.index(b"\n")])
                    if count < 0 or count > _MAX_SPARSE_ENTRIES:
                        raise UnsafeArchiveError("a sparse file's map is too long", hint="a hostile layer; refusing it")
                if count is not None and lines > 2 * count:
                    return [int(n) for n in bytes(text).split(b"\n")[1 : 2 * count + 1]], used
            except ValueError as exc:
                raise UnsafeArchiveError("a sparse file's map is malformed", hint="the layer is corrupt") from exc
            if used + BLOCK > min(size, _MAX_META_BYTES):
                raise UnsafeArchiveError("a sparse file's map is malformed or too long", hint="the layer is corrupt")
            block = self._source.read(BLOCK)
            if len(block) < BLOCK:
                raise UnsafeArchiveError("the layer ends inside a sparse file's map", hint="the blob is truncated")
            text += block
            lines += block.count(b"\n")
            used += BLOCK
