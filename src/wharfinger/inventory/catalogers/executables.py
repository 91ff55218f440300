"""Named sections of executables (ELF, PE, Mach-O), read by hand with bounds checks.

Used for data that compilers embed in a section of its own, such as cargo-auditable's
``.dep-v0`` (Mach-O ``__DATA,.dep-v0``). ``executable_format`` tells the three formats apart from
their first bytes so catalogers can skip every other file cheaply.
"""

# ruff: noqa: PLR2004 - a binary format: offsets, magic numbers and load-command ids are the spec
from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from typing import Literal

__all__ = [
    "ExecutableFormat",
    "ReadAt",
    "elf_section_names",
    "elf_section_names_at",
    "executable_format",
    "find_section",
    "section_span",
]

ExecutableFormat = Literal["elf", "pe", "macho"]

_MACHO_MAGICS = {
    b"\xcf\xfa\xed\xfe": ("<", True),
    b"\xce\xfa\xed\xfe": ("<", False),
    b"\xfe\xed\xfa\xcf": (">", True),
    b"\xfe\xed\xfa\xce": (">", False),
}


def executable_format(head: bytes) -> ExecutableFormat | None:
    """The format announced by a file's first bytes (at least 4), or None."""
    if head[:4] == b"\x7fELF":
        return "elf"
    if head[:2] == b"MZ":
        return "pe"
    if head[:4] in _MACHO_MAGICS:
        return "macho"
    return None


# bytes: the most a section table or its name strings may take before only the file's bytes can
# tell. Real ones take a few KB (~40 entries of 64 bytes); the header's counts are the file's to
# claim, and a hostile executable could otherwise make one read allocate gigabytes.
_MAX_SECTION_TABLE_BYTES = 1024 * 1024
Span = tuple[int, int]  # (offset, size) of a section's bytes in the file
ReadAt = Callable[[int, int], bytes]  # (offset, size) -> up to size bytes of a file at offset


def _within(data: bytes | mmap.mmap, offset: int, size: int) -> Span | None:
    if offset < 0 or size < 0 or offset + size > len(data):
        return None
    return offset, size


def _slice(data: bytes | mmap.mmap, offset: int, size: int) -> bytes | None:
    span = _within(data, offset, size)
    return None if span is None else data[offset : offset + size]


def _elf_table(head: bytes | mmap.mmap) -> tuple[int, int, int, int, str]:
    """(shoff, shentsize, shnum, shstrndx, section header layout) from an ELF file's header.

    ``struct.error`` when ``head`` is too short to hold them.
    """
    order = "<" if head[5] == 1 else ">"
    if head[4] == 2:  # ELFCLASS64
        shoff = struct.unpack_from(f"{order}Q", head, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from(f"{order}HHH", head, 0x3A)
        return shoff, shentsize, shnum, shstrndx, f"{order}IIQQQQ"
    shoff = struct.unpack_from(f"{order}I", head, 0x20)[0]
    shentsize, shnum, shstrndx = struct.unpack_from(f"{order}HHH", head, 0x2E)
    return shoff, shentsize, shnum, shstrndx, f"{order}IIIIII"


def _elf_section(data: bytes | mmap.mmap, name: str) -> Span | None:
    shoff, shentsize, shnum, shstrndx, layout = _elf_table(data)
    if shnum == 0 or shstrndx >= shnum or shnum > 65535:
        return None

    def header(index: int) -> tuple[int, int, int]:
        sh_name, _type, _flags, _addr, offset, size = struct.unpack_from(layout, data, shoff + index * shentsize)
        return sh_name, offset, size

    _, str_offset, str_size = header(shstrndx)
    strings = _slice(data, str_offset, str_size) or b""
    wanted = name.encode()
    for index in range(shnum):
        sh_name, offset, size = header(index)
        end = strings.find(b"\x00", sh_name)
        if strings[sh_name:end] == wanted:
            return _within(data, offset, size)
    return None


def elf_section_names(data: bytes | mmap.mmap) -> frozenset[str] | None:
    """The section names of an ELF file; None when it is not ELF or has no readable section table
    (stripped with ``sstrip``, truncated): then only its bytes can tell."""
    return elf_section_names_at(lambda offset, size: bytes(data[offset : offset + size]), len(data))


def elf_section_names_at(read: ReadAt, length: int) -> frozenset[str] | None:
    """``elf_section_names`` of a ``length``-byte file read in pieces: ``read(offset, size)``.

    Three reads (the ELF header, the section table, the section-name strings) instead of the whole
    file: a layer lying as a plain tar in a local file is judged without reading its executables.
    """
    head = read(0, 64)
    if length < 64 or len(head) < 64 or head[:4] != b"\x7fELF":
        return None
    shoff, shentsize, shnum, shstrndx, layout = _elf_table(head)
    entry = struct.calcsize(layout)
    if shnum == 0 or shstrndx >= shnum or shentsize < entry:
        return None
    table_size = (shnum - 1) * shentsize + entry  # the last header's padding may lie past the end
    if shoff + table_size > length or table_size > _MAX_SECTION_TABLE_BYTES:
        return None
    table = read(shoff, table_size)
    if len(table) < table_size:
        return None
    headers = [struct.unpack_from(layout, table, i * shentsize) for i in range(shnum)]
    _name, _type, _flags, _addr, str_offset, str_size = headers[shstrndx]
    if str_offset + str_size > length or str_size > _MAX_SECTION_TABLE_BYTES:
        return None
    strings = read(str_offset, str_size)
    if len(strings) < str_size:
        return None
    names = set()
    for sh_name, *_rest in headers:
        end = strings.find(b"\x00", sh_name)
        names.add(strings[sh_name : end if end >= 0 else None].decode("latin-1"))
    return frozenset(names)


def _pe_section(data: bytes | mmap.mmap, name: str) -> Span | None:
    pe = struct.unpack_from("<I", data, 0x3C)[0]
    if data[pe : pe + 4] != b"PE\x00\x00":
        return None
    nsections, opt_size = struct.unpack_from("<H", data, pe + 6)[0], struct.unpack_from("<H", data, pe + 20)[0]
    table = pe + 24 + opt_size
    wanted = name.encode()[:8]
    for index in range(min(nsections, 96)):
        entry = table + index * 40
        raw_name = data[entry : entry + 8].rstrip(b"\x00")
        if raw_name == wanted:
            virtual_size, _vaddr, raw_size, raw_ptr = struct.unpack_from("<IIII", data, entry + 8)
            return _within(data, raw_ptr, min(virtual_size, raw_size) if virtual_size else raw_size)
    return None


def _macho_section(data: bytes | mmap.mmap, name: str) -> Span | None:
    order, is64 = _MACHO_MAGICS[data[:4]]
    ncmds = struct.unpack_from(f"{order}I", data, 16)[0]
    pos = 32 if is64 else 28
    wanted = name.encode()[:16]
    for _ in range(min(ncmds, 4096)):
        cmd, size = struct.unpack_from(f"{order}II", data, pos)
        if cmd in (0x19, 0x1):  # LC_SEGMENT_64, LC_SEGMENT
            nsects = struct.unpack_from(f"{order}I", data, pos + (64 if is64 else 48))[0]
            sect = pos + (72 if is64 else 56)
            for _ in range(min(nsects, 1024)):
                sectname = data[sect : sect + 16].rstrip(b"\x00")
                if is64:
                    _addr, sect_size, offset = struct.unpack_from(f"{order}QQI", data, sect + 32)
                else:
                    _addr, sect_size, offset = struct.unpack_from(f"{order}III", data, sect + 32)
                if sectname == wanted:
                    return _within(data, offset, sect_size)
                sect += 80 if is64 else 68
        if size < 8:
            return None
        pos += size
    return None


def find_section(data: bytes | mmap.mmap, name: str) -> bytes | None:
    """The bytes of section ``name`` (Mach-O: the section name in any segment), or None.

    Raises ``ValueError`` for a file whose headers point outside it.
    """
    span = section_span(data, name)
    return None if span is None else data[span[0] : span[0] + span[1]]


def section_span(data: bytes | mmap.mmap, name: str) -> Span | None:
    """Where section ``name`` lies in the file, ``(offset, size)``, or None (like ``find_section``,
    without copying the bytes). Raises ``ValueError`` for a file whose headers point outside it."""
    kind = executable_format(data[:4])
    try:
        if kind == "elf":
            return _elf_section(data, name)
        if kind == "pe":
            return _pe_section(data, name)
        if kind == "macho":
            return _macho_section(data, name)
    except struct.error as exc:
        raise ValueError(f"truncated {kind} headers: {exc}") from exc
    return None
