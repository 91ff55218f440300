"""``BINARIES``: one pass over the image's native executables for Go build info and Rust audit data.

Every regular file with an execute bit is opened once; its first bytes decide whether it is an
ELF, PE or Mach-O file at all, and only then is it memory-mapped (spooled layers and ``dir:``
sources are files on disk) and given to ``golang.parse_go_binary`` and
``rust.parse_rust_binary``. A binary an OS package installed is skipped when the context says so
(``CatalogContext.skip_os_owned``): Debian's ``docker-registry`` is reported as the deb, whose
advisories track Debian's own patches.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass

from wharfinger.inventory.cataloger import CatalogContext, CatalogerKind, Evidence
from wharfinger.inventory.catalogers._documents import Parsed
from wharfinger.inventory.catalogers.executables import executable_format
from wharfinger.inventory.catalogers.filecataloger import FILE_FAILURES, is_os_owned, mapped_file, with_found_by
from wharfinger.inventory.catalogers.golang import parse_go_binary
from wharfinger.inventory.catalogers.rust import parse_rust_binary
from wharfinger.inventory.filesystem import ImageFS
from wharfinger.inventory.package import Location, Package

__all__ = ["BINARIES", "MAX_BINARY_BYTES", "BinaryCataloger"]

MAX_BINARY_BYTES = 2 * 1024**3  # bytes; larger "executables" are disk images or data, not programs
_EXECUTE_BITS = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


@dataclass(frozen=True, slots=True, kw_only=True)
class BinaryCataloger:
    name: str = "binaries"
    version: str = "1"
    kind: CatalogerKind = "language"
    patterns: tuple[str, ...] = ()
    selects_executables: bool = True
    evidence: Evidence = "installed"  # as FileCataloger.evidence: what is on disk, not what a lock declares

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        packages: list[Package] = []
        for path in fs.walk():
            try:
                mode = fs.mode(path)
                if not stat.S_ISREG(mode) or not mode & _EXECUTE_BITS:
                    continue
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
