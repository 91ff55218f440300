"""Reading feed inputs from disk: directories, ``.zip`` (OSV exports) and ``.tar.gz`` (Wolfi) archives.

The edge of ingestion: yields ``(path, bytes)`` pairs for ``vulndb.ingest.ingest_files``.
Archives are read with limits, because a database build may be pointed at downloaded files.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wharfinger.errors import InputError

__all__ = ["InputLimits", "iter_archive", "iter_feed_files"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InputLimits:
    max_file_bytes: int = 64 * 1024 * 1024  # bytes; the largest single feed file (an OVAL XML is ~5 MB)
    max_archive_members: int = 2_000_000  # entries per archive (an OSV all.zip has ~500k)
    max_total_bytes: int = 8 * 1024 * 1024 * 1024  # bytes uncompressed per archive


_ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


def iter_feed_files(root: Path, *, limits: InputLimits | None = None) -> Iterator[tuple[str, bytes]]:
    """Every file under ``root`` (a directory, a zip or a tarball), archives opened in place."""
    limits = limits or InputLimits()
    if not root.exists():
        raise InputError(f"feed input {root} does not exist", hint="pass a directory, .zip or .tar.gz of feed files")
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root).as_posix()
            if path.name.lower().endswith(_ARCHIVE_SUFFIXES):
                yield from _archive(relative, path.read_bytes(), limits)
            elif path.stat().st_size <= limits.max_file_bytes:
                yield relative, path.read_bytes()
        return
    yield from _archive(root.name, root.read_bytes(), limits)


def iter_archive(name: str, data: bytes, *, limits: InputLimits | None = None) -> Iterator[tuple[str, bytes]]:
    """The files of an in-memory ``.zip``/``.tar.gz`` (a downloaded OSV export), as ``(path, bytes)``."""
    yield from _archive(name, data, limits or InputLimits())


def _archive(name: str, data: bytes, limits: InputLimits) -> Iterator[tuple[str, bytes]]:
    lowered = name.lower()
    try:
        if lowered.endswith(".zip"):
            yield from _zip(name, data, limits)
        elif lowered.endswith(_ARCHIVE_SUFFIXES):
            yield from _tar(name, data, limits)
        else:
            yield name, data
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(
            f"archive {name} is corrupt or truncated: {exc}", hint="download it again or unpack it yourself"
        ) from exc


def _zip(name: str, data: bytes, limits: InputLimits) -> Iterator[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        _check(name, len(members), sum(m.file_size for m in members), limits)
        for member in members:
            if member.file_size <= limits.max_file_bytes:
                yield f"{name}/{member.filename}", archive.read(member)


def _tar(name: str, data: bytes, limits: InputLimits) -> Iterator[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
        members = [m for m in archive.getmembers() if m.isfile()]
        _check(name, len(members), sum(m.size for m in members), limits)
        for member in members:
            if member.size > limits.max_file_bytes:
                continue
            handle = archive.extractfile(member)
            if handle is not None:
                yield f"{name}/{member.name.removeprefix('./')}", handle.read()


def _check(name: str, count: int, total: int, limits: InputLimits) -> None:
    if count > limits.max_archive_members or total > limits.max_total_bytes:
        raise InputError(
            f"archive {name} holds {count} files, {total} bytes uncompressed: over the limits",
            hint="this is not a feed export; check the file",
        )
