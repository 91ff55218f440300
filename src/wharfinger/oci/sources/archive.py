"""Tar archives (``docker save``, ``oci-archive``) read in place, never extracted.

Hostile archives are refused while indexing or on first use: member names that are absolute or
climb with ``..``, duplicate members, links that leave the archive or loop, device files, sparse
files, and more members than ``Settings.max_archive_entries``. A ``./`` prefix (what
``tar -C DIR -cf x.tar .`` writes) is normalised away, and the ``./`` root member skipped.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import BinaryIO

from wharfinger.errors import LayoutError, UnsafeArchiveError
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources.files import MISSING_HINT, UNSAFE_HINT, BlobLocation, read_limited, safe_parts

__all__ = ["TarFiles"]


class _Slice(io.RawIOBase):
    """``size`` bytes at ``offset`` of a file, through its own handle (safe to read several at once)."""

    def __init__(self, path: Path, offset: int, size: int) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._file.seek(offset)
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # RawIOBase takes any buffer
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")
        data = self._file.read(min(len(view), self._left))
        if not data:
            raise LayoutError("archive ends inside a member", hint="the archive is truncated; save it again")
        view[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


class TarFiles:
    """A tar archive (``docker save``, ``oci-archive``), read in place without extracting anything.

    Members are indexed once; reads open their own handle at the member's offset. A compressed
    archive (``docker save | gzip``) is first decompressed to an anonymous temporary file.
    """

    def __init__(self, path: Path, settings: Settings) -> None:
        self.description = str(path)
        self._settings = settings
        self._tmp: BinaryIO | None = None
        try:
            with path.open("rb") as probe:
                magic = probe.read(2)
        except FileNotFoundError as exc:
            raise LayoutError(f"archive {path} does not exist", hint="check the path") from exc
        except IsADirectoryError as exc:
            raise LayoutError(f"{path} is a directory, not an archive", hint="use oci:DIR for a layout") from exc
        except OSError as exc:
            raise LayoutError(f"cannot read archive {path}: {exc.strerror}", hint="check the path") from exc
        self._path = path
        if magic == b"\x1f\x8b":
            self._tmp = tempfile.TemporaryFile()  # noqa: SIM115  # lives as long as this reader
            with gzip.open(path, "rb") as src:
                shutil.copyfileobj(src, self._tmp, 1 << 20)
            self._tmp.flush()
            self._path = Path(f"/proc/self/fd/{self._tmp.fileno()}")
        self._members: dict[str, tarfile.TarInfo] = {}
        try:
            with tarfile.open(self._path, "r:") as tar:
                for count, member in enumerate(tar, start=1):
                    if count > settings.max_archive_entries:
                        raise UnsafeArchiveError(
                            f"{path} has more than {settings.max_archive_entries} members",
                            hint="an image archive has a few dozen; this one is hostile or not an image",
                        )
                    if member.isdir() and posixpath.normpath(member.name) == ".":
                        continue  # `tar -C DIR -cf x.tar .` stores the root itself as "./"
                    name = "/".join(safe_parts(member.name, self.description))
                    if name in self._members and not member.isdir():
                        raise UnsafeArchiveError(
                            f"{path} contains {name!r} twice", hint="an archive with duplicates can be read two ways"
                        )
                    self._members[name] = member
        except tarfile.TarError as exc:
            raise LayoutError(f"{path} is not a readable tar archive: {exc}", hint="save the image again") from exc

    def _member(self, name: str) -> tarfile.TarInfo:
        current = "/".join(safe_parts(name, self.description))
        for _ in range(self._settings.max_archive_link_hops + 1):
            member = self._members.get(current)
            if member is None:
                raise LayoutError(f"{current} is missing from {self.description}", hint=MISSING_HINT)
            if member.isfile():
                return member
            if member.issym():
                target = posixpath.join(posixpath.dirname(current), member.linkname)
            elif member.islnk():
                target = member.linkname
            else:
                raise UnsafeArchiveError(f"{current} in {self.description} is not a regular file", hint=UNSAFE_HINT)
            if target.startswith("/"):
                raise UnsafeArchiveError(
                    f"{current} in {self.description} links to the absolute path {member.linkname!r}",
                    hint=UNSAFE_HINT,
                )
            normal = posixpath.normpath(target)
            if normal.startswith("../") or normal == "..":
                raise UnsafeArchiveError(
                    f"{current} in {self.description} links outside the archive ({member.linkname!r})",
                    hint=UNSAFE_HINT,
                )
            current = normal
        raise UnsafeArchiveError(f"{name} in {self.description} is a link loop", hint=UNSAFE_HINT)

    def exists(self, name: str) -> bool:
        try:
            self._member(name)
        except LayoutError:
            return False
        return True

    def _contiguous(self, name: str) -> tarfile.TarInfo:
        member = self._member(name)
        if member.sparse is not None:  # GNU sparse members: their data is not one contiguous run
            raise UnsafeArchiveError(f"{name} in {self.description} is a sparse file", hint=UNSAFE_HINT)
        return member

    def open(self, name: str) -> tuple[BinaryIO, int]:
        member = self._contiguous(name)
        raw = _Slice(self._path, member.offset_data, member.size)
        return io.BufferedReader(raw, 1 << 16), member.size

    def locate(self, name: str) -> BlobLocation:
        # a gzipped archive's members lie in the decompressed temporary file (/proc/self/fd/N),
        # which lives as long as this reader
        member = self._contiguous(name)
        return BlobLocation(path=self._path, offset=member.offset_data, size=member.size)

    def read(self, name: str, *, max_bytes: int) -> bytes:
        stream, size = self.open(name)
        return read_limited(stream, size, name, max_bytes, self.description)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.close()
            self._tmp = None
