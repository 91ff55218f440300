"""Read-only file access to an image on disk: a directory here, a tar archive in ``archive.py``.

Both give the same three operations over slash-separated names relative to the root, so the OCI
layout and docker-archive readers do not care whether they sit on a folder or a ``.tar``.

Hostile inputs are refused here, once: names that are absolute or climb with ``..``, duplicate
members, links that leave the archive or loop, device files, too many members, and symlinks
inside a layout directory (a blob must be a regular file in the layout, not a pointer elsewhere).
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from wharfinger.errors import LayoutError, UnsafeArchiveError

__all__ = ["MISSING_HINT", "UNSAFE_HINT", "BlobLocation", "DirFiles", "ImageFiles", "read_limited", "safe_parts"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobLocation:
    """Where a blob lies, stored as is, inside a local file: ``size`` bytes at ``offset`` of ``path``.

    A reader may seek over parts of it (the layer reader skips file contents it does not want);
    it must still read it all through ``ImageSource.open_blob`` to verify the digest.
    """

    path: Path
    offset: int
    size: int


class ImageFiles(Protocol):
    description: str

    def exists(self, name: str) -> bool: ...

    def read(self, name: str, *, max_bytes: int) -> bytes: ...

    def open(self, name: str) -> tuple[BinaryIO, int]:
        """An open stream of the file and its size in bytes (``LayoutError`` if missing)."""
        ...

    def locate(self, name: str) -> BlobLocation:
        """Where the file's bytes lie on disk (``LayoutError`` if missing)."""
        ...

    def close(self) -> None: ...


def read_limited(stream: BinaryIO, size: int, name: str, max_bytes: int, where: str) -> bytes:
    with stream:
        if size > max_bytes:
            raise LayoutError(
                f"{name} in {where} is {size} bytes, larger than the {max_bytes}-byte limit",
                hint="the layout or archive is corrupt or hostile; raise the limit only if you trust it",
            )
        return stream.read(max_bytes + 1)[:max_bytes]


class DirFiles:
    """A directory (an OCI image layout)."""

    def __init__(self, root: Path) -> None:
        try:
            is_dir = root.is_dir()
        except OSError as exc:
            raise LayoutError(f"cannot use {root}: {exc.strerror}", hint="check the path") from exc
        if not is_dir:
            raise LayoutError(f"{root} is not a directory", hint="give the path of an OCI image layout directory")
        self.root = root
        self.description = str(root)

    def _path(self, name: str) -> Path:
        return self.root.joinpath(*safe_parts(name, self.description))

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def open(self, name: str) -> tuple[BinaryIO, int]:
        path = self._path(name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError as exc:
            raise LayoutError(f"{name} is missing from {self.description}", hint=MISSING_HINT) from exc
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafeArchiveError(
                    f"{name} in {self.description} is a symlink",
                    hint="blobs in a layout must be regular files; copy the image with `skopeo copy` to a clean layout",
                ) from exc
            raise LayoutError(f"cannot open {name} in {self.description}: {exc.strerror}", hint=MISSING_HINT) from exc
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise UnsafeArchiveError(f"{name} in {self.description} is not a regular file", hint=MISSING_HINT)
        return os.fdopen(fd, "rb"), info.st_size

    def read(self, name: str, *, max_bytes: int) -> bytes:
        stream, size = self.open(name)
        return read_limited(stream, size, name, max_bytes, self.description)

    def locate(self, name: str) -> BlobLocation:
        # opened as `open` does, so a symlinked blob is refused here too, not only when hashed
        stream, size = self.open(name)
        stream.close()
        return BlobLocation(path=self._path(name), offset=0, size=size)

    def close(self) -> None:
        return None


MISSING_HINT = "the layout or archive is incomplete; copy the image again (e.g. with `skopeo copy`)"


def safe_parts(name: str, where: str) -> list[str]:
    """Split a relative name; refuse absolute names and any ``..`` (the archive must stay in its root)."""
    if name.startswith("/") or "\\" in name or "\x00" in name:
        raise UnsafeArchiveError(f"unsafe path {name!r} in {where}", hint=UNSAFE_HINT)
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise UnsafeArchiveError(f"unsafe path {name!r} in {where}", hint=UNSAFE_HINT)
    return parts


UNSAFE_HINT = "the archive tries to reach outside itself; do not use it, it is corrupt or hostile"
