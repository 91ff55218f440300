"""The rpm database, read without librpm: header blobs from SQLite, Berkeley DB hash and NDB files.

rpm stores one *header blob* per installed package; the three backends only differ in how the
blobs are kept:

* ``rpmdb.sqlite`` (rpm ≥ 4.16, RHEL 9, Fedora): table ``Packages(hnum, blob)``.
* ``Packages`` (Berkeley DB hash, RHEL ≤ 8, CentOS 7, Amazon Linux 2): each value is stored
  on overflow pages chained by ``next_pgno``; the blob is their concatenation.
* ``Packages.db`` (rpm's NDB, SUSE): a slot table pointing at ``BlbS`` blobs in 16-byte blocks.

``parse_header`` decodes a blob (big-endian index of ``(tag, type, offset, count)`` entries and a
data store) into the few tags an inventory needs. All offsets are bounds-checked: a corrupt or
hostile database raises ``RpmDatabaseError``, never reads past its bytes.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from wharfinger.errors import RpmDatabaseError

__all__ = [
    "RpmDatabaseError",
    "RpmHeader",
    "parse_header",
    "read_bdb_blobs",
    "read_ndb_blobs",
    "read_rpmdb_blobs",
    "read_sqlite_blobs",
]

_HEADER_PREAMBLE = 8  # bytes: il and dl
_MAX_INDEX_ENTRIES = 0x10000  # rpm's own limit (hdrchkTags)
_MAX_DATA_BYTES = 256 * 1024 * 1024  # bytes: rpm's hdrchkData

# header tags, as rpmtag.h numbers them
_NAME, _VERSION, _RELEASE, _EPOCH, _SIZE, _VENDOR, _LICENSE = 1000, 1001, 1002, 1003, 1009, 1011, 1014
_ARCH, _OLDFILENAMES, _SOURCERPM = 1022, 1027, 1044
_DIRINDEXES, _BASENAMES, _DIRNAMES = 1116, 1117, 1118
_MODULARITYLABEL = 5096
# types
_INT16, _INT32, _STRING, _STRING_ARRAY, _I18NSTRING = 3, 4, 6, 8, 9


@dataclass(frozen=True, slots=True, kw_only=True)
class RpmHeader:
    name: str
    version: str
    release: str
    epoch: int | None
    arch: str | None
    license: str | None
    source_rpm: str | None
    vendor: str | None
    modularity_label: str | None
    size: int | None
    files: tuple[str, ...]

    @property
    def evr(self) -> str:
        """``[epoch:]version-release`` as ``rpm -q --qf '%{EVR}'`` prints it."""
        prefix = f"{self.epoch}:" if self.epoch else ""
        return f"{prefix}{self.version}-{self.release}"


def _cstring(data: bytes, offset: int) -> tuple[str, int]:
    end = data.find(b"\0", offset)
    if end == -1:
        raise RpmDatabaseError("rpm header string is not terminated", hint="the rpm database is corrupt")
    return data[offset:end].decode("utf-8", "replace"), end + 1


def parse_header(blob: bytes) -> RpmHeader:
    """Decode an rpmdb header blob (no lead, no magic: ``il``, ``dl``, index, data)."""
    if len(blob) < _HEADER_PREAMBLE:
        raise RpmDatabaseError("rpm header blob is truncated", hint="the rpm database is corrupt")
    index_count, data_length = struct.unpack_from(">II", blob, 0)
    if index_count > _MAX_INDEX_ENTRIES or data_length > _MAX_DATA_BYTES:
        raise RpmDatabaseError(
            f"rpm header claims {index_count} tags and {data_length} data bytes", hint="the rpm database is corrupt"
        )
    data_start = 8 + 16 * index_count
    if data_start + data_length > len(blob):
        raise RpmDatabaseError("rpm header blob is shorter than its index says", hint="the rpm database is corrupt")
    data = blob[data_start : data_start + data_length]
    values: dict[int, tuple[int, int, int]] = {}
    for i in range(index_count):
        tag, kind, offset, count = struct.unpack_from(">iIiI", blob, 8 + 16 * i)
        if 0 <= offset < data_length:
            values.setdefault(tag, (kind, offset, count))

    def strings(tag: int) -> list[str]:
        if tag not in values:
            return []
        kind, offset, count = values[tag]
        if kind == _STRING:
            return [_cstring(data, offset)[0]]
        if kind not in {_STRING_ARRAY, _I18NSTRING}:
            return []
        out = []
        for _ in range(min(count, data_length)):
            text, offset = _cstring(data, offset)
            out.append(text)
        return out

    def string(tag: int) -> str | None:
        found = strings(tag)
        return found[0] if found else None

    def ints(tag: int) -> list[int]:
        if tag not in values:
            return []
        kind, offset, count = values[tag]
        width, fmt = {_INT32: (4, ">i"), _INT16: (2, ">h")}.get(kind, (0, ""))
        if not width or offset + width * count > data_length:
            return []
        return [struct.unpack_from(fmt, data, offset + width * j)[0] for j in range(count)]

    name = string(_NAME)
    version = string(_VERSION)
    if not name or version is None:
        raise RpmDatabaseError("rpm header has no name or version", hint="the rpm database is corrupt")
    basenames = strings(_BASENAMES)
    dirnames = strings(_DIRNAMES)
    dirindexes = ints(_DIRINDEXES)
    if basenames and len(dirindexes) == len(basenames):
        files = tuple(dirnames[d] + b for d, b in zip(dirindexes, basenames, strict=True) if 0 <= d < len(dirnames))
    else:
        files = tuple(strings(_OLDFILENAMES))
    epochs = ints(_EPOCH)
    sizes = ints(_SIZE)
    return RpmHeader(
        name=name,
        version=version,
        release=string(_RELEASE) or "",
        epoch=epochs[0] if epochs else None,
        arch=string(_ARCH),
        license=string(_LICENSE),
        source_rpm=string(_SOURCERPM),
        vendor=string(_VENDOR),
        modularity_label=string(_MODULARITYLABEL),
        size=sizes[0] if sizes else None,
        files=files,
    )


def read_sqlite_blobs(database: bytes) -> Iterator[bytes]:
    """Header blobs of ``rpmdb.sqlite`` (the bytes of the file, opened in memory)."""
    if len(database) >= _SQLITE_HEADER_MIN and database[18:20] == b"\x02\x02":
        # WAL mode cannot be opened from memory; rpm checkpoints on close, so read it as a rollback-journal DB
        database = database[:18] + b"\x01\x01" + database[20:]
    connection = sqlite3.connect(":memory:")
    try:
        connection.deserialize(database)
        rows = connection.execute("SELECT blob FROM Packages ORDER BY hnum").fetchall()
    except sqlite3.DatabaseError as exc:
        raise RpmDatabaseError(f"rpmdb.sqlite cannot be read: {exc}", hint="the rpm database is corrupt") from exc
    finally:
        connection.close()
    for (blob,) in rows:
        if isinstance(blob, bytes):
            yield blob


# Berkeley DB (db_page.h)
_SQLITE_HEADER_MIN = 20  # bytes: up to the read/write version fields
_BDB_HASH_MAGIC = 0x061561
_BDB_META_BYTES = 72
_BDB_MIN_PAGE, _BDB_MAX_PAGE = 512, 65536
_BDB_PAGE_HEADER = 26
_BDB_P_HASH_UNSORTED, _BDB_P_HASH = 2, 13
_BDB_H_OFFPAGE = 3


def read_bdb_blobs(database: bytes) -> Iterator[bytes]:
    """Header blobs of a Berkeley DB hash ``Packages`` file."""
    if len(database) < _BDB_META_BYTES:
        raise RpmDatabaseError("the Berkeley DB Packages file is truncated", hint="the rpm database is corrupt")
    for order in ("<", ">"):
        if struct.unpack_from(order + "I", database, 12)[0] == _BDB_HASH_MAGIC:
            break
    else:
        raise RpmDatabaseError("Packages is not a Berkeley DB hash database", hint="the rpm database is corrupt")
    (page_size,) = struct.unpack_from(order + "I", database, 20)
    (last_page,) = struct.unpack_from(order + "I", database, 32)
    if database[24] != 0:
        raise RpmDatabaseError("the Berkeley DB Packages file is encrypted", hint="it cannot be read without rpm")
    if page_size < _BDB_MIN_PAGE or page_size > _BDB_MAX_PAGE:
        raise RpmDatabaseError(f"Berkeley DB page size {page_size} is invalid", hint="the rpm database is corrupt")
    page_count = min(last_page + 1, len(database) // page_size)
    for page_number in range(1, page_count):
        page = database[page_number * page_size : (page_number + 1) * page_size]
        if page[25] not in {_BDB_P_HASH_UNSORTED, _BDB_P_HASH}:
            continue
        (entries,) = struct.unpack_from(order + "H", page, 20)
        for pair in range(entries // 2):
            (value_offset,) = struct.unpack_from(order + "H", page, _BDB_PAGE_HEADER + 4 * pair + 2)
            if value_offset + 12 > page_size or page[value_offset] != _BDB_H_OFFPAGE:
                continue
            overflow_page, length = struct.unpack_from(order + "II", page, value_offset + 4)
            yield _bdb_overflow(database, overflow_page, length, page_size, order)


def _bdb_overflow(database: bytes, first_page: int, length: int, page_size: int, order: str) -> bytes:
    chunks: list[bytes] = []
    collected = 0
    page_number = first_page
    seen: set[int] = set()
    while page_number != 0 and collected < length:
        if page_number in seen or (page_number + 1) * page_size > len(database):
            raise RpmDatabaseError("a Berkeley DB overflow chain is broken", hint="the rpm database is corrupt")
        seen.add(page_number)
        page = database[page_number * page_size : (page_number + 1) * page_size]
        (next_page,) = struct.unpack_from(order + "I", page, 16)
        (used,) = struct.unpack_from(order + "H", page, 22)  # hf_offset: bytes used on an overflow page
        chunk = page[_BDB_PAGE_HEADER : _BDB_PAGE_HEADER + used] if next_page == 0 else page[_BDB_PAGE_HEADER:]
        chunks.append(chunk)
        collected += len(chunk)
        page_number = next_page
    return b"".join(chunks)[:length]


# NDB (rpm lib/backend/ndb/rpmpkg.c)
_NDB_HEADER_MAGIC = 0x506D7052  # "RpmP"
_NDB_SLOT_MAGIC = 0x746F6C53  # "Slot"
_NDB_BLOB_MAGIC = 0x53626C42  # "BlbS"
_NDB_PAGE = 4096
_NDB_BLOCK = 16
_NDB_HEADER_BYTES = 32


def read_ndb_blobs(database: bytes) -> Iterator[bytes]:
    """Header blobs of an NDB ``Packages.db`` file."""
    if len(database) < _NDB_HEADER_BYTES:
        raise RpmDatabaseError("Packages.db is truncated", hint="the rpm database is corrupt")
    magic, version, _generation, slot_pages = struct.unpack_from("<IIII", database, 0)
    if magic != _NDB_HEADER_MAGIC or version != 0:
        raise RpmDatabaseError("Packages.db is not an rpm NDB database", hint="the rpm database is corrupt")
    slot_count = slot_pages * _NDB_PAGE // 16 - 2
    if 32 + 16 * slot_count > len(database):
        raise RpmDatabaseError("Packages.db slot table is truncated", hint="the rpm database is corrupt")
    for slot in range(slot_count):
        slot_magic, package_index, block_offset, _block_count = struct.unpack_from("<IIII", database, 32 + 16 * slot)
        if slot_magic != _NDB_SLOT_MAGIC:
            raise RpmDatabaseError("Packages.db has a bad slot", hint="the rpm database is corrupt")
        if package_index == 0:
            continue
        start = block_offset * _NDB_BLOCK
        if start + 16 > len(database):
            raise RpmDatabaseError("Packages.db slot points past the file", hint="the rpm database is corrupt")
        blob_magic, blob_index, _checksum, blob_length = struct.unpack_from("<IIII", database, start)
        if blob_magic != _NDB_BLOB_MAGIC or blob_index != package_index or start + 16 + blob_length > len(database):
            raise RpmDatabaseError("Packages.db has a bad blob", hint="the rpm database is corrupt")
        yield database[start + 16 : start + 16 + blob_length]


def read_rpmdb_blobs(filename: str, database: bytes) -> Iterator[bytes]:
    """Dispatch on the file's name and magic: ``rpmdb.sqlite``, ``Packages.db`` or ``Packages``."""
    if database.startswith(b"SQLite format 3\0"):
        return read_sqlite_blobs(database)
    if filename.endswith("Packages.db") or database[:4] == b"RpmP":
        return read_ndb_blobs(database)
    return read_bdb_blobs(database)
