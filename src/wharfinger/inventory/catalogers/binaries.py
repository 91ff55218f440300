"""``BINARIES``: one pass over the image's native executables for Go build info and Rust audit data.

Every regular file with an execute bit (``ImageFS.executables``: in an image, only those the layer
reader kept because ``executable_filter`` accepted them) is opened once; its first bytes decide whether it is an
ELF, PE or Mach-O file at all, and only then is it memory-mapped (spooled layers and ``dir:``
sources are files on disk) and given to ``golang.parse_go_binary`` and
``rust.parse_rust_binary``. A binary an OS package installed is skipped when the context says so
(``CatalogContext.skip_os_owned``): Debian's ``docker-registry`` is reported as the deb, whose
advisories track Debian's own patches.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass

from wharfinger.inventory.cataloger import CatalogContext, CatalogerKind, Evidence, ExecutableFilter
from wharfinger.inventory.catalogers._documents import Parsed
from wharfinger.inventory.catalogers.executables import (
    ReadAt,
    elf_section_names,
    elf_section_names_at,
    executable_format,
)
from wharfinger.inventory.catalogers.filecataloger import FILE_FAILURES, is_os_owned, mapped_file, with_found_by
from wharfinger.inventory.catalogers.gobuildinfo import BUILDINFO_MAGIC
from wharfinger.inventory.catalogers.golang import parse_go_binary
from wharfinger.inventory.catalogers.rust import AUDITABLE_SECTION, AUDITABLE_SECTION_MACHO, parse_rust_binary
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.package import Location, Package

__all__ = [
    "BINARIES",
    "GO_AND_RUST_BINARIES",
    "MAX_BINARY_BYTES",
    "BinaryCataloger",
    "holds_build_metadata",
    "holds_build_metadata_at",
]

_ELF_SECTIONS = frozenset({".go.buildinfo", AUDITABLE_SECTION})  # Go >= 1.13, cargo-auditable
_MARKERS = (BUILDINFO_MAGIC, AUDITABLE_SECTION.encode(), AUDITABLE_SECTION_MACHO.encode())


def holds_build_metadata(data: bytes | mmap.mmap) -> bool:
    """Whether a native executable may hold Go build info or cargo-auditable data.

    An ELF file with a section table answers from its section names (a few microseconds); others
    (PE keeps Go's build info in ``.data``, Mach-O, ELF without sections) by searching their bytes.
    """
    names = elf_section_names(data)
    if names is not None:
        return not names.isdisjoint(_ELF_SECTIONS)
    return any(data.find(marker) >= 0 for marker in _MARKERS)


def holds_build_metadata_at(read: ReadAt, length: int) -> bool | None:
    """``holds_build_metadata`` from three small reads of an ELF file with a section table; None
    (read it all) for any other file."""
    names = elf_section_names_at(read, length)
    return None if names is None else not names.isdisjoint(_ELF_SECTIONS)


GO_AND_RUST_BINARIES = ExecutableFilter(
    key="go-rust-build-metadata/1", keep=holds_build_metadata, keep_at=holds_build_metadata_at
)
MAX_BINARY_BYTES = 2 * 1024**3  # bytes; larger "executables" are disk images or data, not programs


@dataclass(frozen=True, slots=True, kw_only=True)
class BinaryCataloger:
    name: str = "binaries"
    version: str = "2"  # 2: GOPATH-mode main packages
    kind: CatalogerKind = "language"
    patterns: tuple[str, ...] = ()
    executable_filter: ExecutableFilter | None = GO_AND_RUST_BINARIES
    evidence: Evidence = "installed"  # as FileCataloger.evidence: what is on disk, not what a lock declares

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        packages: list[Package] = []
        for path in fs.executables():
            try:
                with fs.open(path) as handle:
                    if executable_format(handle.read(4)) is None:
                        continue
            except FILE_FAILURES:
                continue  # unreadable entries are reported by the layer walker
            if context.skip_os_owned and is_os_owned(fs, path, context):
                continue
            location = Location(path=path, layer_digest=fs.layer_of(path))
            try:
                with mapped_file(fs, path, MAX_BINARY_BYTES) as data:
                    for parse in (parse_go_binary, parse_rust_binary):
                        try:
                            parsed: Parsed = parse(data, location)
                        except FILE_FAILURES as exc:
                            context.warn(f"{self.name}: skipped {path}: {exc}")
                            continue
                        packages.extend(parsed.packages)
                        if parsed.packages:
                            break  # a binary is Go or Rust, not both
            except FILE_FAILURES as exc:
                context.warn(f"{self.name}: skipped {path}: {exc}")
        return with_found_by(packages, self.name)


BINARIES = BinaryCataloger()
