"""``FileCataloger``: a ``Cataloger`` built from (glob, parser) rules, shared by every language.

The pure parsers take bytes and a ``Location``; this adapter does the I/O around them:

1. it globs the filesystem once for every rule's pattern (the same patterns the layer walker keeps);
2. it skips files an OS package manager installed when the context asks it to
   (``CatalogContext.skip_os_owned``, the default, as trivy does);
3. it reads each file under the context's size cap, or maps it when the rule reads binaries;
4. it turns every failure of one file (too large, malformed, hostile) into a warning through
   ``context.warn`` and goes on with the next file: a broken file never ends the scan.

Skipping OS-owned files is where we follow trivy rather than syft: syft reports the PyPI package
``PyYAML`` *and* the deb ``python3-yaml`` that installed it (linked by an ownership relationship);
trivy, and Wharfinger by default, report the deb only, so the vulnerability is matched against the
distro's advisory (which knows about backported fixes) and not a second time against PyPI's. Pass
``skip_os_owned=False`` in the context to see both, as syft does.
"""

from __future__ import annotations

import io
import mmap
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import BinaryIO

from wharfinger.errors import WharfingerError
from wharfinger.inventory.cataloger import CatalogContext, CatalogerKind, Evidence, ExecutableFilter
from wharfinger.inventory.catalogers._documents import Parsed
from wharfinger.inventory.filesystem import FileTooLargeError, ImageFS, PathPatterns
from wharfinger.inventory.package import Location, Package

__all__ = ["FILE_FAILURES", "BinaryData", "FileCataloger", "FileRule", "is_os_owned", "mapped_file", "with_found_by"]

BinaryData = bytes | mmap.mmap

# What a parser may raise on a hostile or broken file besides our own errors. Listed, not
# ``Exception``: a parser bug of another kind must surface in tests, not hide as a warning.
FILE_FAILURES = (
    WharfingerError,
    OSError,
    ValueError,  # includes UnicodeError, json/toml decode errors
    KeyError,
    IndexError,
    TypeError,
    RecursionError,
    EOFError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    NotImplementedError,  # zipfile: an unsupported compression method
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRule:
    """Files matching ``pattern`` are parsed by ``parse``, or by ``parse_in_fs`` when the parser
    needs more than the file's bytes (sibling files, a seekable archive)."""

    pattern: str
    parse: Callable[[bytes, Location], Parsed] | None = None
    parse_in_fs: Callable[[ImageFS, str, Location, CatalogContext], Parsed] | None = None
    max_bytes: int | None = None  # overrides CatalogContext.max_file_bytes for this rule
    skip_inside: tuple[str, ...] = ()  # path fragments ("/node_modules/") under which matches are ignored


def is_os_owned(fs: ImageFS, path: str, context: CatalogContext) -> bool:
    owned = context.os_owned_files
    if not owned:
        return False
    if path in owned:
        return True
    try:
        return fs.realpath(path) in owned
    except WharfingerError:
        return False


@contextmanager
def mapped_file(fs: ImageFS, path: str, max_bytes: int) -> Iterator[BinaryData]:
    """The file's bytes, memory-mapped when it lives on disk (no copy of a 100 MB binary)."""
    with fs.open(path) as handle:
        mapping = _try_mmap(handle)
        if mapping is None:
            data = handle.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise FileTooLargeError(f"{path} is larger than {max_bytes} bytes", hint="the file is skipped")
            yield data
            return
        try:
            yield mapping
        finally:
            mapping.close()


def _try_mmap(handle: BinaryIO) -> mmap.mmap | None:
    try:
        fileno = handle.fileno()
    except (OSError, io.UnsupportedOperation, AttributeError):
        return None
    try:
        return mmap.mmap(fileno, 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # empty files cannot be mapped
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class FileCataloger:
    """A language ``Cataloger`` made of ``FileRule``s."""

    name: str
    version: str
    rules: tuple[FileRule, ...]
    evidence: Evidence = "installed"  # "installed" (what is on disk) or "declared" (lock files)
    kind: CatalogerKind = "language"
    executable_filter: ExecutableFilter | None = None

    @property
    def patterns(self) -> tuple[str, ...]:
        return tuple(rule.pattern for rule in self.rules)

    def catalog(self, fs: ImageFS, context: CatalogContext) -> list[Package]:
        matchers = [(PathPatterns((rule.pattern,)), rule) for rule in self.rules]
        packages: list[Package] = []
        for path in fs.glob(self.patterns):
            rule = next((r for m, r in matchers if m.matches(path)), None)
            if rule is None or any(fragment in path for fragment in rule.skip_inside):
                continue
            if context.skip_os_owned and is_os_owned(fs, path, context):
                continue
            location = Location(path=path, layer_digest=fs.layer_of(path))
            try:
                if rule.parse_in_fs is not None:
                    parsed = rule.parse_in_fs(fs, path, location, context)
                elif rule.parse is not None:
                    parsed = rule.parse(fs.read_bytes(path, rule.max_bytes or context.max_file_bytes), location)
                else:
                    continue
            except FILE_FAILURES as exc:
                if isinstance(exc, WharfingerError) and path in exc.message:
                    context.warn(f"{self.name}: {exc.diagnostics()}")  # the message names the file already
                else:
                    detail = exc.diagnostics() if isinstance(exc, WharfingerError) else f"{type(exc).__name__}: {exc}"
                    context.warn(f"{self.name}: skipped {path}: {detail}")
                continue
            for warning in parsed.warnings:
                context.warn(f"{self.name}: {warning}")
            packages.extend(parsed.packages)
        return with_found_by(packages, self.name)


def with_found_by(packages: list[Package], cataloger: str) -> list[Package]:
    """Record which cataloger found each package (kept in the metadata pairs)."""
    return [replace(p, metadata=tuple(sorted((*p.metadata, ("cataloger", cataloger))))) for p in packages]
