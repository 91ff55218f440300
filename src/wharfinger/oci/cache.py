"""The content-addressed blob cache on disk: one per user, shared by every process.

Layout: ``<dir>/<algorithm>/<hex>`` for blobs, ``<dir>/.tmp/`` for writes in progress, where
``<dir>`` is ``Settings.blob_cache_dir`` (``$WHARFINGER_CACHE_DIR/blobs``, else
``$XDG_CACHE_HOME/wharfinger/blobs``).

Why it is safe with many processes at once:

* a writer streams into its own temp file, verifies the digest, ``fsync``\\ s, and publishes it
  with an atomic ``rename``; readers see a whole verified blob or nothing, and two writers of one
  digest publish identical bytes, so the last rename is harmless;
* a reader that opened a blob keeps reading it even if a pruner unlinks it meanwhile (POSIX);
* every read is verified again at EOF: a blob corrupted on disk is removed and reported, never
  served.

Eviction is least-recently-used: a hit touches the blob's mtime, and ``prune`` (run after each
write beyond ``max_bytes``, or by ``wharfinger cache prune``) removes the oldest first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final

from wharfinger.errors import DigestMismatchError
from wharfinger.oci.digest import ALGORITHMS, DigestVerifier, open_verified, parse_digest
from wharfinger.oci.settings import Settings

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["BlobCache", "CacheEntry", "CacheStats", "PruneResult"]

log = logging.getLogger(__name__)

_TMP: Final = ".tmp"
_CHUNK: Final = 1 << 20  # bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheEntry:
    digest: str
    size: int  # bytes
    last_used: float  # seconds since the epoch (the blob's mtime)
    path: Path


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheStats:
    root: Path
    entries: int
    total_bytes: int
    max_bytes: int
    oldest_use: float | None  # seconds since the epoch
    newest_use: float | None
    temp_files: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PruneResult:
    removed: int
    freed_bytes: int
    remaining_bytes: int
    remaining_entries: int


class _EvictOnMismatch(DigestVerifier):
    """A verifier that removes the cached file when the content no longer matches its name."""

    __slots__ = ("_path",)

    def __init__(self, digest: str, path: Path, size: int) -> None:
        super().__init__(digest, expected_size=size, what=f"cached blob {digest}")
        self._path = path

    def verify(self) -> None:
        try:
            super().verify()
        except DigestMismatchError:
            self._path.unlink(missing_ok=True)
            log.warning("removed corrupt cached blob", extra={"event": "oci.cache.corrupt", "path": str(self._path)})
            raise


class BlobWriter:
    """A blob being written: ``write`` chunks, then the context manager verifies and publishes it."""

    def __init__(self, file: BinaryIO, verifier: DigestVerifier) -> None:
        self._file = file
        self._verifier = verifier

    def write(self, chunk: Buffer) -> None:
        self._verifier.update(chunk)
        self._file.write(chunk)


class BlobCache:
    def __init__(self, root: Path, *, max_bytes: int, tmp_max_age: float = 3600.0) -> None:
        self.root = root
        self.max_bytes = max_bytes  # bytes; 0 means unbounded
        self.tmp_max_age = tmp_max_age  # seconds
        # What this process last counted plus what it wrote since: the directory is scanned
        # again only when that could exceed the limit, not after every blob of a 100-layer pull.
        # Other processes' writes are not counted here; each writer evicts for itself.
        self._estimated_total: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobCache:
        return cls(settings.blob_cache_dir, max_bytes=settings.cache_max_bytes, tmp_max_age=settings.cache_tmp_max_age)

    def path_for(self, digest: str) -> Path:
        parsed = parse_digest(digest)
        return self.root / parsed.algorithm / parsed.hex

    def contains(self, digest: str) -> bool:
        return self.path_for(digest).is_file()

    def open(self, digest: str) -> BinaryIO | None:
        """A verified stream of the cached blob, or ``None`` on a miss. Marks it recently used."""
        path = self.path_for(digest)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        stream = os.fdopen(fd, "rb")
        size = os.fstat(fd).st_size
        with contextlib.suppress(OSError):  # another process may have evicted it; our handle still reads
            os.utime(path)
        return open_verified(stream, _EvictOnMismatch(digest, path, size))

    def read_bytes(self, digest: str) -> bytes | None:
        stream = self.open(digest)
        if stream is None:
            return None
        with stream:
            return stream.read()

    @contextlib.contextmanager
    def writer(self, digest: str, *, expected_size: int | None = None) -> Iterator[BlobWriter]:
        """Write a blob; on leaving the block it is verified and published, or discarded on error."""
        target = self.path_for(digest)
        tmp_dir = self.root / _TMP
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=target.name[:16] + ".", dir=tmp_dir)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as file:
                verifier = DigestVerifier(digest, expected_size=expected_size, what=f"blob {digest}")
                yield BlobWriter(file, verifier)
                verifier.verify()
            target.parent.mkdir(parents=True, exist_ok=True)
            # atomic: readers see all of it or none of it. No fsync (~50 ms a large layer here): every
            # read verifies the digest, so a blob torn by a machine crash is evicted and fetched again.
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        if self.max_bytes:
            written = target.stat().st_size if target.exists() else 0
            if self._estimated_total is not None:
                self._estimated_total += written
            if self._estimated_total is None or self._estimated_total > self.max_bytes:
                self._evict_if_needed(keep=target)

    def put_bytes(self, digest: str, data: Buffer) -> Path:
        with self.writer(digest, expected_size=memoryview(data).nbytes) as out:
            out.write(data)
        return self.path_for(digest)

    def put_stream(self, digest: str, stream: BinaryIO, *, expected_size: int | None = None) -> Path:
        with self.writer(digest, expected_size=expected_size) as out:
            while chunk := stream.read(_CHUNK):
                out.write(chunk)
        return self.path_for(digest)

    def remove(self, digest: str) -> bool:
        try:
            self.path_for(digest).unlink()
        except FileNotFoundError:
            return False
        return True

    # -- accounting and eviction ---------------------------------------------------------------

    def entries(self) -> list[CacheEntry]:
        found: list[CacheEntry] = []
        for algorithm, hex_length in ALGORITHMS.items():
            folder = self.root / algorithm
            try:
                scan = os.scandir(folder)
            except FileNotFoundError:
                continue
            with scan:
                for item in scan:
                    if len(item.name) != hex_length or not item.is_file(follow_symlinks=False):
                        continue
                    try:
                        info = item.stat(follow_symlinks=False)
                    except FileNotFoundError:  # evicted by another process while we listed
                        continue
                    found.append(
                        CacheEntry(
                            digest=f"{algorithm}:{item.name}",
                            size=info.st_size,
                            last_used=info.st_mtime,
                            path=Path(item.path),
                        )
                    )
        return found

    def _temp_files(self) -> list[Path]:
        folder = self.root / _TMP
        return list(folder.iterdir()) if folder.is_dir() else []

    def stats(self) -> CacheStats:
        entries = self.entries()
        uses = [e.last_used for e in entries]
        return CacheStats(
            root=self.root,
            entries=len(entries),
            total_bytes=sum(e.size for e in entries),
            max_bytes=self.max_bytes,
            oldest_use=min(uses, default=None),
            newest_use=max(uses, default=None),
            temp_files=len(self._temp_files()),
        )

    def prune(self, *, max_bytes: int | None = None, everything: bool = False, now: float | None = None) -> PruneResult:
        """Remove least recently used blobs until the cache fits ``max_bytes`` (default: its limit).

        Also removes temp files older than ``tmp_max_age`` (debris of writers that crashed);
        younger ones belong to writers still at work and are left alone.
        """
        limit = 0 if everything else (self.max_bytes if max_bytes is None else max_bytes)
        entries = sorted(self.entries(), key=lambda e: e.last_used)
        total = sum(e.size for e in entries)
        removed = freed = 0
        for entry in entries:
            if not everything and (limit <= 0 or total <= limit):
                break
            try:
                entry.path.unlink()
            except FileNotFoundError:
                continue
            removed += 1
            freed += entry.size
            total -= entry.size
        current = time.time() if now is None else now
        for tmp in self._temp_files():
            with contextlib.suppress(FileNotFoundError):
                if everything or current - tmp.stat().st_mtime > self.tmp_max_age:
                    tmp.unlink()
        return PruneResult(
            removed=removed, freed_bytes=freed, remaining_bytes=total, remaining_entries=len(entries) - removed
        )

    def _evict_if_needed(self, *, keep: Path) -> None:
        entries = self.entries()
        total = sum(e.size for e in entries)
        self._estimated_total = total
        if total <= self.max_bytes:
            return
        for entry in sorted(entries, key=lambda e: e.last_used):
            if total <= self.max_bytes:
                break
            if entry.path == keep:
                continue
            with contextlib.suppress(FileNotFoundError):
                entry.path.unlink()
                total -= entry.size
        self._estimated_total = total
        log.debug("cache evicted", extra={"event": "oci.cache.evicted", "remaining_bytes": total})
