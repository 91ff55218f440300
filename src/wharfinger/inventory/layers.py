"""Layers applied in order as one read-only filesystem, streamed and bounded against hostile input.

``read_layers(layers, select=…)`` walks each layer's tar once, as a stream (gzip, zstd or plain tar,
recognised by magic bytes whatever the media type says), and keeps:

* the metadata of every entry (type, mode, size, link target, the layer it came from);
* the *contents* of the files ``select`` asks for (the catalogers' globs, and native executables
  holding one of the catalogers' markers): small ones in memory, larger ones spooled to a private
  temporary directory.

Whiteouts follow the OCI image spec: ``.wh.NAME`` deletes ``NAME`` (and everything under it) from
the lower layers, ``.wh..wh..opq`` hides every lower entry of its directory. Hardlinks share the
content of their target. Symlinks are resolved inside the image root (``filesystem.resolve_inside_root``).

Each path keeps its history (one node per layer that touched it), so ``LayeredFS.at_layer(i)``
gives the filesystem as it was after layer ``i``: the inventory uses it to say which layer
introduced each package.

A plain-tar layer lying in a local file (``LayerInput.location``: a layout's blob, an archive's
member) is not streamed: its headers are read in place and the contents nobody selected are
seeked over, while a helper process (``layer_hasher``) hashes the whole blob against its digest;
the layer counts only once that verdict is in.

Hostile layers: entries with ``..`` components or absolute paths, device files and FIFOs are
skipped with a warning; decompression bombs (ratio or total size) and entry floods refuse the
whole image with ``UnsafeArchiveError``. Limits are in ``LayerLimits``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import logging
import mmap
import os
import queue
import shutil
import stat
import struct
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, runtime_checkable

from wharfinger.errors import UnsafeArchiveError, WharfingerError
from wharfinger.inventory.cataloger import ExecutableFilter
from wharfinger.inventory.filesystem import (
    FileTooLargeError,
    PathPatterns,
    below_symlinks,
    normalize_path,
    resolve_in_directory,
    resolve_inside_root,
    through_symlinks,
)
from wharfinger.inventory.layer_hasher import HashJob, HelperUnavailableError, LayerHasher
from wharfinger.inventory.layer_input import LayerInput
from wharfinger.inventory.tarstream import (
    CONTIGUOUS,
    DIRECTORY,
    HARDLINK,
    REGULAR,
    SYMLINK,
    FileSource,
    TarEntry,
    TarReader,
)

__all__ = ["LayerIndexStore", "LayerInput", "LayerLimits", "LayeredFS", "Selection", "read_layers"]

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_NATIVE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_READ_CHUNK = 1024 * 1024  # bytes
_REGULAR_TYPES = frozenset({REGULAR, CONTIGUOUS})
_ENTRIES_PER_COUNT = 256  # entries of a layer counted against the limits at a time (the last ones at its end)


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerLimits:
    """Safe limits for untrusted layers (units in the names)."""

    max_entries_per_layer: int = 500_000
    max_entries_total: int = 2_000_000
    max_layer_bytes: int = 16 * 1024**3  # uncompressed bytes in one layer
    max_total_bytes: int = 64 * 1024**3  # uncompressed bytes in the whole image
    max_compression_ratio: int = 250  # uncompressed/compressed, checked once past ratio_check_after_bytes
    ratio_check_after_bytes: int = 64 * 1024 * 1024
    max_path_bytes: int = 4096
    max_memory_file_bytes: int = 1024 * 1024  # selected files up to this size stay in memory; larger are spooled
    # kept contents held in memory in all: past it even small ones are spooled (100,000 selected
    # files of 1 MiB would otherwise take 100 GB of memory)
    max_memory_bytes: int = 256 * 1024 * 1024
    max_selected_file_bytes: int = 2 * 1024**3  # a selected file larger than this is skipped
    max_spool_bytes: int = 32 * 1024**3  # total bytes spooled to the temporary directory


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Which files' contents to keep while streaming."""

    patterns: tuple[str, ...] = ()
    # also keep ELF/PE/Mach-O files with an execute bit that one of these accepts (the catalogers'
    # filters, e.g. "a Go or Rust program"): a Debian image has ~600 executables, of which only the
    # odd Go or Rust program is worth keeping in memory and in the layer cache
    executable_filters: tuple[ExecutableFilter, ...] = ()


NodeKind = Literal["file", "dir", "symlink", "whiteout"]


@dataclass(slots=True, kw_only=True)
class _Node:
    kind: NodeKind
    layer: int
    mode: int = 0
    size: int = 0
    link: str | None = None  # symlink target
    data: bytes | None = None  # content kept in memory
    spool: Path | None = None  # content spooled to disk


class _Prefetcher:
    """Reads the compressed blob in its own thread, a few chunks ahead.

    The source verifies the blob's digest as it is read; in this thread hashing (and disk or
    network reads) overlaps inflating in the layer's thread — both release the GIL.
    """

    def __init__(self, blob: BinaryIO, *, depth: int = 8) -> None:
        self._blob = blob
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._pending = b""
        self._eof = False
        self._thread = threading.Thread(target=self._run, name="wharfinger-layer-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._blob.read(_READ_CHUNK)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # noqa: BLE001 -- handed to the reading thread, which raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return

    def read(self, size: int) -> bytes:
        if not self._pending:
            if self._eof:
                return b""
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if not item:
                self._eof = True
                return b""
            self._pending = item
        out, self._pending = self._pending[:size], self._pending[size:]
        return out

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._blob.close()


class _Background:
    """Runs a generator in its own thread, ``depth`` items ahead of the consumer.

    Inflating releases the GIL, parsing the tar does not: with the two in different threads a
    layer costs max(inflate, parse) of wall time instead of their sum. An exception in the
    generator is raised in the consumer, where the next item was due.
    """

    _END = object()

    def __init__(self, items: Iterator[bytes], *, depth: int, name: str) -> None:
        self._items = items
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as exc:  # noqa: BLE001 -- handed to the consumer, which raises it
            self._put(exc)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is self._END:
            self._done = True
            raise StopIteration
        if isinstance(item, BaseException):
            self._done = True
            raise item
        return item  # type: ignore[return-value]  # the generator yields bytes

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _LayerStream:
    """A decompressed, size-checked view of a layer blob, as chunks."""

    def __init__(self, layer: LayerInput, budget: _Budget) -> None:
        self._blob = _Prefetcher(layer.open())
        self._digest = layer.digest
        self._limits = budget.limits
        self._budget = budget
        self.compressed = 0
        self.uncompressed = 0
        self._chunks = _Background(self._decompressed(), depth=4, name="wharfinger-layer-inflate")

    def _read_raw(self, size: int = _READ_CHUNK) -> bytes:
        chunk = self._blob.read(size)
        self.compressed += len(chunk)
        return chunk

    def _decompressed(self) -> Iterator[bytes]:
        head = self._read_raw(4)
        if head.startswith(_GZIP_MAGIC):
            yield from self._gunzip(head)
        elif head.startswith(_ZSTD_MAGIC):
            import zstandard  # noqa: PLC0415 -- only zstd layers pay for it

            prefixed: BinaryIO = _Prefixed(head, self)  # type: ignore[assignment]  # a RawIOBase reader
            reader = zstandard.ZstdDecompressor().stream_reader(prefixed)
            while chunk := reader.read(_READ_CHUNK):
                yield bytes(chunk)
        else:  # an uncompressed tar
            yield head
            while chunk := self._read_raw():
                yield chunk

    def _gunzip(self, head: bytes) -> Iterator[bytes]:
        from isal import isal_zlib  # noqa: PLC0415 -- ISA-L inflates 2-3x faster than zlib; only gzip layers pay

        decoder = isal_zlib.decompressobj(zlib.MAX_WBITS | 16)
        data = head
        while True:
            if not data:
                data = self._read_raw()
                if not data:
                    break
            # max_length bounds the output of one call: a bomb never sits in memory whole
            yield decoder.decompress(data, _READ_CHUNK * 4)
            data = decoder.unconsumed_tail
            if decoder.eof:
                rest = decoder.unused_data + data
                if not rest:
                    rest = self._read_raw()
                if not rest.startswith(_GZIP_MAGIC):
                    return  # trailing padding after the last member
                decoder = isal_zlib.decompressobj(zlib.MAX_WBITS | 16)  # concatenated members (pigz)
                data = rest
        tail = decoder.flush()
        if not decoder.eof:
            raise EOFError("the gzip stream ends before its end marker")
        yield tail

    def chunks(self) -> Iterator[bytes]:
        """Decompressed chunks, each counted against the limits."""
        while True:
            try:
                produced = next(self._chunks, None)
            except (zlib.error, OSError, EOFError) as exc:
                raise self._corrupt(exc) from exc
            except WharfingerError:
                raise
            except Exception as exc:  # isal's IsalError and zstandard's ZstdError share no base; translated here
                raise self._corrupt(exc) from exc
            if produced is None:
                return
            self._account(len(produced))
            yield produced

    def _corrupt(self, exc: BaseException) -> UnsafeArchiveError:
        return UnsafeArchiveError(
            f"layer {self._digest} cannot be decompressed: {exc}",
            hint="the blob is corrupt or truncated; pull the image again",
        )

    def _account(self, produced: int) -> None:
        self.uncompressed += produced
        limits = self._limits
        if self.uncompressed > limits.max_layer_bytes:
            raise UnsafeArchiveError(
                f"layer {self._digest} expands past {limits.max_layer_bytes} bytes",
                hint="a decompression bomb or an unusually large layer; refusing the image",
            )
        self._budget.add_bytes(self._digest, produced)
        if (
            self.uncompressed > limits.ratio_check_after_bytes
            and self.uncompressed > limits.max_compression_ratio * max(self.compressed, 1)
        ):
            raise UnsafeArchiveError(
                f"layer {self._digest} expands more than {limits.max_compression_ratio}x "
                f"({self.compressed} compressed bytes gave {self.uncompressed})",
                hint="a decompression bomb; refusing the image",
            )

    def close(self) -> None:
        self._chunks.close()
        self._blob.close()


class _Prefixed(io.RawIOBase):
    """The blob with its already-read magic bytes put back in front (for zstandard's reader)."""

    def __init__(self, head: bytes, owner: _LayerStream) -> None:
        super().__init__()
        self._head = head
        self._owner = owner

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        return self._owner._read_raw(size if size > 0 else _READ_CHUNK)  # noqa: SLF001 -- its own stream

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io types it as WriteableBuffer
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Verifier:
    """Hashes a whole plain-tar layer in place, in its own thread, against the layer's digest.

    The seeking reader skips what it does not want; this thread still reads every byte, so a
    byte changed anywhere in the layer is caught. It reads large pieces into one buffer and hashes
    them there: file reads and hashing release the GIL, so it runs on the other core and rarely
    waits for the parser (through ``open_blob``'s layers of buffers the same bytes cost 2.4x more).
    It reads the parser's descriptor (``os.preadv``, positional): both see the same file.
    """

    _PIECE = 8 * 1024 * 1024  # bytes per read: few GIL hand-overs per layer

    def __init__(self, layer: LayerInput, fd: int, offset: int, size: int, budget: _Budget) -> None:
        self._layer = layer
        self._fd = os.dup(fd)  # its own: the parser closes its descriptor when it is done, maybe first
        self._offset = offset
        self._size = size
        self._budget = budget
        self._failure: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="wharfinger-layer-verify", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from wharfinger.oci.digest import DigestVerifier  # noqa: PLC0415 -- a pure module, loaded only for this path

        digest = self._layer.digest
        try:
            # the same check (and message) as `ImageSource.open_blob`'s `verifier_for(descriptor)`
            verifier = DigestVerifier(digest, expected_size=self._size, what=f"blob {digest}")
            buffer = memoryview(bytearray(min(self._PIECE, max(self._size, 1))))
            done = 0
            while done < self._size:
                if self._budget.cancelled or self._cancelled:
                    raise UnsafeArchiveError(
                        f"layer {digest}: stopped, another layer was refused", hint="see the other error"
                    )
                got = os.preadv(self._fd, [buffer[: min(len(buffer), self._size - done)]], self._offset + done)
                if got == 0:
                    break  # truncated under us: `verify` says so
                verifier.update(buffer[:got])
                done += got
                if self._layer.progress is not None:
                    self._layer.progress(got)
            verifier.verify()
        except WharfingerError as exc:  # DigestMismatchError: as the streaming path raises it
            self._failure = exc
        except OSError as exc:
            self._failure = UnsafeArchiveError(
                f"layer {digest} cannot be read: {exc.strerror or exc}", hint="the blob is corrupt or truncated"
            )
        finally:
            os.close(self._fd)

    def cancel(self) -> None:
        """Stop hashing (the layer's filesystem is dropped unconfirmed)."""
        self._cancelled = True

    def verdict(self) -> BaseException | None:
        """Wait for the whole layer to be hashed; the error reading or verifying it, if any."""
        self._thread.join()
        return self._failure


class _HelperVerifier:
    """``_Verifier``'s job done by the hashing helper process (``layer_hasher``), which hashes the
    layers in turn on the other core without taking the GIL from the parser. Where the helper cannot
    take or finish the job, the layer is hashed here after all (``_Verifier``): never unverified."""

    def __init__(self, layer: LayerInput, fd: int, offset: int, size: int, reading: _Reading) -> None:
        self._layer = layer
        self._offset = offset
        self._size = size
        self._budget = reading.budget
        self._fd: int | None = os.dup(fd)  # for hashing here, should the helper fail; the parser closes its own
        self._fallback: _Verifier | None = None
        self._job: HashJob | None = None
        self._algorithm = layer.digest.partition(":")[0]
        try:
            self._job = reading.hasher.submit(fd, offset, size, self._algorithm)
        except HelperUnavailableError as exc:
            self._hash_here(exc)

    def _hash_here(self, why: OSError) -> None:
        log.debug("layer %s: hashed in process (%s)", self._layer.digest, why)
        if self._fd is not None:
            self._fallback = _Verifier(self._layer, self._fd, self._offset, self._size, self._budget)
        self._close_fd()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def cancel(self) -> None:
        """Forget the layer (its filesystem is dropped unconfirmed); the helper stops when the read closes."""
        if self._fallback is not None:
            self._fallback.cancel()
        self._close_fd()

    def verdict(self) -> BaseException | None:
        """Wait for the helper's answer; the error reading or verifying the layer, if any."""
        from wharfinger.oci.digest import DigestVerifier  # noqa: PLC0415 -- a pure module, loaded only for this path

        if self._job is not None:
            job, self._job = self._job, None
            try:
                done, hex_digest = job.result()
            except HelperUnavailableError as exc:
                self._hash_here(exc)
            except OSError as exc:
                self._close_fd()
                return UnsafeArchiveError(
                    f"layer {self._layer.digest} cannot be read: {exc}", hint="the blob is corrupt or truncated"
                )
            else:
                self._close_fd()
                digest = self._layer.digest
                try:  # the same check (and message) as `ImageSource.open_blob`'s `verifier_for(descriptor)`
                    DigestVerifier(digest, expected_size=self._size, what=f"blob {digest}").verify_hashed(
                        done, hex_digest
                    )
                except WharfingerError as failure:
                    return failure
                if self._layer.progress is not None:
                    self._layer.progress(done)
                return None
        return self._fallback.verdict() if self._fallback is not None else None


def _lies_as_plain_tar(layer: LayerInput) -> bool:
    """Whether ``_read_layer`` will parse this layer in place (a truncated one is refused there)."""
    try:
        plain = _open_plain_tar(layer)
    except UnsafeArchiveError:
        return False
    if plain is None:
        return False
    os.close(plain[0])
    return True


def _open_plain_tar(layer: LayerInput) -> tuple[int, int, int] | None:
    """(descriptor, offset, size) of a layer lying as a plain tar in a local file; None otherwise.

    Compressed layers, and files this process cannot open, take the streaming path (which then
    says what is wrong with them).
    """
    location = layer.location
    if location is None or not hasattr(os, "preadv"):  # positional reads: POSIX only
        return None
    try:
        fd = os.open(location.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        head = os.pread(fd, 4, location.offset)
        stored = os.fstat(fd).st_size
    except OSError:
        os.close(fd)
        return None
    if head.startswith((_GZIP_MAGIC, _ZSTD_MAGIC)):
        os.close(fd)
        return None
    if stored < location.offset + location.size:  # checked once more by the verifier, which reads it all
        os.close(fd)
        raise UnsafeArchiveError(
            f"layer {layer.digest} is truncated: {location.path} ends before its {location.size} bytes",
            hint="the archive or layout is incomplete; copy the image again",
        )
    return fd, location.offset, location.size


@dataclass(slots=True)
class _Pending:
    """One layer's entries, applied after its whiteouts (which only affect lower layers)."""

    entries: list[tuple[str, _Node]] = field(default_factory=list)
    hardlinks: list[tuple[str, str, int]] = field(default_factory=list)  # path, target, mode
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # reported when the layer is applied, in layer order
    # regular files whose path the selection matches, noted while streaming (None: not known, as for
    # an index from the cache): applying and globbing then never match every entry of a layer again
    selected_files: list[str] | None = None
    # regular files neither selected nor kept, as (path, mode, size, number of ``entries`` before it
    # in the tar): most of a layer's entries, put into the tree only if a query needs them (``_Unindexed``)
    plain: list[tuple[str, int, int, int]] = field(default_factory=list)
    # a plain-tar layer read in place whose hash is still running (``read_layers(defer_verification=True)``)
    verifier: _Verifier | _HelperVerifier | None = None
    # the layer's index for the cache, packed as it is read (``read_layers(store=…)``)
    index: _IndexPacker | None = None
    # contents of files that selected hardlinks point to, which the stream had passed (``_keep_linked_contents``)
    linked: dict[str, _Node] = field(default_factory=dict)


@runtime_checkable
class LayerIndexStore(Protocol):
    """Where each layer's index (entries and selected small contents) is kept, by digest and selection.

    ``files`` are the layer's large selected contents (``_cached_as_file``), spooled: the store keeps
    them, before ``put_layer`` returns, as ``layer_files(key) / "0"``, ``"1"``… (a hard link of the
    spool file where it can: no copy, no compression)."""

    def get_layer(self, key: str) -> bytes | None: ...

    def put_layer(self, key: str, value: bytes, files: Sequence[Path] = ()) -> None: ...

    def layer_files(self, key: str) -> Path: ...


def _layer_key(digest: str, selection: Selection) -> str:
    fingerprint = hashlib.sha256(
        json.dumps([sorted(selection.patterns), sorted(f.key for f in selection.executable_filters)]).encode()
    ).hexdigest()[:16]
    # 3: contents first, then the metadata; 4: hardlinked contents; 5: large contents as files
    return f"layer5:{digest}:{fingerprint}"


_MAX_CACHED_LAYER_CONTENT_BYTES = 16 * 1024 * 1024  # bytes of selected contents one cached layer index may hold
_MAX_CACHED_LAYER_FILE_BYTES = 1024 * 1024 * 1024  # bytes of large contents kept as files for one layer
# A selected content larger than this, spooled, is cached as a file of its own rather than packed into
# the index: compressing python3.11's 6.8 MB (deb-min) or a 6.4 MB Go program (go-bin) and writing
# it into SQLite took 20-50 ms of a cold `sbom`, most of it on the way to the output (ISA-L holds
# the GIL while it compresses); a hard link of the spool file costs nothing.
_FILE_CONTENT_BYTES = 1024 * 1024


def _cached_as_file(node: _Node) -> bool:
    return node.spool is not None and node.size > _FILE_CONTENT_BYTES


class _IndexPacker:
    """One layer's index for the cache, compressed while the layer is read.

    Kept contents are handed over as they are kept (``add``, in the reading thread, in the order of
    the layer's entries) and compressed in the packer's thread: ISA-L releases the GIL, so
    python3.11's 6.8 MB in deb-min's second layer is packed while the rest of the layer is parsed,
    not after it. Small contents go over in batches of ``_BATCH_BYTES`` (a layer of 20,000
    ``package.json`` files is then ~100 hand-overs, not 20,000). ``finish`` appends the entries'
    metadata (which need the whole layer) and gives the stored form:
    ``zlib(contents… + meta JSON + meta length as 8 bytes)``, one stream.
    """

    _BATCH_BYTES = 1024 * 1024

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        from isal import isal_zlib  # noqa: PLC0415 -- ISA-L level 1: 6x faster than zlib's, same format

        self._pool = pool
        self._compressor = isal_zlib.compressobj(1)
        self._parts: list[bytes] = []
        self._batch: list[_Node] = []
        self._batch_bytes = 0
        self._kept = 0
        self._files: list[Path] = []  # large spooled contents, cached as files (``_cached_as_file``)
        self._file_bytes = 0
        self._failed = False  # too large for the cache, or a spooled content could not be read back

    def add(self, node: _Node, *, linked: bool = False) -> None:
        """Pack ``node``'s content (a ``linked`` one always: ``meta["linked"]`` holds bytes only)."""
        if not linked and _cached_as_file(node):
            assert node.spool is not None  # noqa: S101  # _cached_as_file says so
            self._file_bytes += node.size
            if self._file_bytes > _MAX_CACHED_LAYER_FILE_BYTES:
                self._failed = True
            self._files.append(node.spool)
            return
        self._kept += node.size
        if self._kept > _MAX_CACHED_LAYER_CONTENT_BYTES:
            self._failed = True  # many large contents: this layer is read again next time
        if self._failed:
            return
        self._batch.append(node)
        self._batch_bytes += node.size
        if self._batch_bytes >= self._BATCH_BYTES:
            self._hand_over()

    def _hand_over(self) -> None:
        if self._batch:
            self._pool.submit(self._compress, self._batch)
            self._batch, self._batch_bytes = [], 0

    def _compress(self, nodes: list[_Node]) -> None:
        for node in nodes:
            if self._failed:
                return
            try:
                content = node.data if node.data is not None else (node.spool.read_bytes() if node.spool else b"")
            except OSError:  # the spool is gone (the filesystem was closed first): nothing to cache
                self._failed = True
                return
            if len(content) != node.size:
                self._failed = True  # a spool file changed under us: do not cache a wrong index
                return
            self._parts.append(self._compressor.compress(content))

    def finish(self, meta: bytes) -> Future[_Packed | None]:
        if not self._failed:
            self._hand_over()
        return self._pool.submit(self._finish, meta)

    def _finish(self, meta: bytes) -> _Packed | None:
        if self._failed:
            return None
        self._parts.append(self._compressor.compress(meta + struct.pack(">Q", len(meta))))
        self._parts.append(self._compressor.flush())
        return _Packed(value=b"".join(self._parts), files=tuple(self._files))


@dataclass(frozen=True, slots=True)
class _Packed:
    """A layer's index as stored: the packed value and the files its large contents are kept in."""

    value: bytes
    files: tuple[Path, ...]


def _index_meta(pending: _Pending) -> bytes:
    """The layer's entries and the offsets of their kept contents, as JSON (in the reading thread:
    it holds the GIL)."""
    entries = []
    offset = 0
    files = 0
    for path, node in pending.entries:
        if _cached_as_file(node):  # kept as file number `files` of the layer (``_IndexPacker.add``)
            entries.append([path, node.kind, node.mode, node.size, node.link, _IN_FILE, files])
            files += 1
        elif node.data is not None or node.spool is not None:
            entries.append([path, node.kind, node.mode, node.size, node.link, offset, node.size])
            offset += node.size
        else:
            entries.append([path, node.kind, node.mode, node.size, node.link, -1, 0])
    linked = []
    for path in sorted(pending.linked):  # packed after the entries' contents, in this order
        linked.append([path, offset, pending.linked[path].size])
        offset += pending.linked[path].size
    return json.dumps(
        {
            "entries": entries,
            "linked": linked,
            "hardlinks": pending.hardlinks,
            "whiteouts": pending.whiteouts,
            "opaque": pending.opaque_dirs,
            "warnings": pending.warnings,
            "plain": pending.plain,
        },
        separators=(",", ":"),
    ).encode()


_IN_FILE = -2  # an index entry's offset when its content is a file of the store's (``layer_files``)


def _store_packed(store: LayerIndexStore, key: str, packed: Future[_Packed | None]) -> None:
    result = packed.result()
    if result is not None:
        store.put_layer(key, result.value, result.files)


def _decode_pending(value: bytes, index: int, files: Path) -> _Pending | None:
    try:
        raw = zlib.decompress(value)
        (meta_length,) = struct.unpack_from(">Q", raw, len(raw) - 8)
        contents = len(raw) - 8 - meta_length
        if contents < 0:
            return None
        meta = json.loads(raw[contents : len(raw) - 8])
        blob = memoryview(raw)[:contents]
        pending = _Pending(
            hardlinks=[(str(a), str(b), int(c)) for a, b, c in meta["hardlinks"]],
            whiteouts=[str(w) for w in meta["whiteouts"]],
            opaque_dirs=[str(o) for o in meta["opaque"]],
            warnings=[str(w) for w in meta["warnings"]],
            plain=[(str(path), int(mode), int(size), int(before)) for path, mode, size, before in meta["plain"]],
        )
        for path, kind, mode, size, link, offset, length in meta["entries"]:
            node = _Node(kind=kind, layer=index, mode=int(mode), size=int(size), link=link)
            if offset >= 0:
                node.data = bytes(blob[offset : offset + length])
            elif offset == _IN_FILE:
                node.spool = files / str(int(length))
                if node.spool.stat().st_size != node.size:
                    return None  # a file of the store's changed or went: read the layer again
            pending.entries.append((str(path), node))
        for path, offset, length in meta["linked"]:
            data = bytes(blob[offset : offset + length])
            pending.linked[str(path)] = _Node(kind="file", layer=index, size=len(data), data=data)
    except (zlib.error, struct.error, ValueError, KeyError, TypeError, OSError):
        return None  # a damaged cache entry, or one of its files is gone: read the layer again
    return pending


def _safe_member_path(name: str, limits: LayerLimits, warn: Callable[[str], None], digest: str) -> str | None:
    # most names are already clean ("usr/bin/x", "./usr/bin/x", "usr/lib/"): "/" + name, without
    # splitting and joining it (a tenth of a small-file layer's parse). A name of at most
    # max_path_bytes / 4 characters cannot encode to more bytes than that (4 per character at most).
    if len(name) <= limits.max_path_bytes // 4:
        clean = name.removeprefix("./")
        clean = clean.removesuffix("/")
        if (
            clean
            and not clean.startswith(("/", "./"))
            and clean != "."
            and not clean.endswith(("/", "/."))
            and "//" not in clean
            and "/./" not in clean
            and ".." not in clean
        ):
            return "/" + clean
    return _checked_member_path(name, limits, warn, digest)


def _checked_member_path(name: str, limits: LayerLimits, warn: Callable[[str], None], digest: str) -> str | None:
    if len(name.encode("utf-8", "surrogateescape")) > limits.max_path_bytes:
        warn(f"layer {digest}: skipped an entry with a path longer than {limits.max_path_bytes} bytes")
        return None
    if name.startswith("/"):
        warn(f"layer {digest}: skipped {name!r}: absolute paths are not allowed in layers")
        return None
    parts = [p for p in name.split("/") if p not in {"", "."}]
    if ".." in parts:
        warn(f"layer {digest}: skipped {name!r}: path traversal ('..') is not allowed in layers")
        return None
    return "/" + "/".join(parts)


class _Unindexed:
    """The plain files of every applied layer, kept out of the tree until a query needs them.

    A layer of 10,000 files has a few hundred a cataloger asks for; building tree nodes for the
    rest cost ~10 % of a cold SBOM, and catalogers almost never look at them. Queries on paths
    that may involve one (``paths``, and the directories above them, ``directories``) first put
    them all in (``LayeredFS._index_plain_files``), so every answer is the same as with a full tree.
    """

    __slots__ = ("applied", "directories", "done", "paths")

    def __init__(self) -> None:
        self.applied: list[_Pending] = []  # every layer in order, to rebuild the tree with its plain files
        self.paths: set[str] = set()
        self.directories: set[str] = set()  # every directory above a plain file
        self.done = False

    def add(self, pending: _Pending, hardlinks: Iterable[str], tree: dict[str, set[str]]) -> list[tuple[str, int]]:
        """Take a layer's plain files; those at a path ``tree`` holds as a directory, with the number
        of the layer's entries before them (``LayeredFS._replace_directory``)."""
        self.applied.append(pending)
        paths, directories = self.paths, self.directories
        replacing: list[tuple[str, int]] = []
        after_entries = len(pending.entries)  # plain hardlinks are applied after the layer's entries
        for path, before in itertools.chain(
            ((entry[0], entry[3]) for entry in pending.plain), ((link, after_entries) for link in hardlinks)
        ):
            if path in tree:
                replacing.append((path, before))
            paths.add(path)
            directory = path[: path.rfind("/")] or "/"
            while directory not in directories:
                directories.add(directory)
                if directory == "/":
                    break
                directory = directory[: directory.rfind("/")] or "/"
        return replacing


class LayeredFS:
    """The image's filesystem after applying its layers; an ``ImageFS``. Close it to drop spooled files."""

    def __init__(
        self,
        digests: Sequence[str],
        *,
        spool_dir: Path | None,
        upto: int | None = None,
        selected: PathPatterns | None = None,
    ) -> None:
        self.digests = list(digests)
        self._selected = selected  # the globs whose contents were kept while streaming
        self._selected_files: list[str] | None = None
        self._selected_paths: set[str] = set()  # every path pushed as a file that the selection matches
        self._kept_paths: set[str] = set()  # every path pushed as a file whose content was kept
        self._real_directories: dict[str, str] = {}  # realpath of directories, filled once the tree is built
        self._unindexed = _Unindexed()
        self._history: dict[str, list[_Node]] = {}
        self._children: dict[str, set[str]] = {"/": set()}
        self._spool_dir = spool_dir
        self._upto = len(self.digests) - 1 if upto is None else upto
        self._files: list[str] | None = None
        self.warnings: list[str] = []
        self.changed: dict[int, set[str]] = {}  # layer index → paths of selected files it added or deleted
        # layers whose hash may still run (None: verified while read), each with what stores its
        # index once confirmed; and the thread compressing those indexes (``read_layers``)
        self._unconfirmed: list[tuple[_Verifier | _HelperVerifier | None, Callable[[], None] | None]] = []
        self._packer: ThreadPoolExecutor | None = None
        self._hasher: LayerHasher | None = None  # the read's hashing helper, stopped by ``close``
        # selected hardlinks whose target's content was passed over: (path, target, its layer, the link's)
        self._passed_links: list[tuple[str, str, int, int]] = []
        # selected files named only through a symlinked directory: path → real path (``through_symlinks``)
        self._aliases: dict[str, str] = {}
        self._symlinks: set[str] = set()  # every path pushed as a symlink (``below_symlinks``)
        # (path, layer) of a file moved by ``_write_through_symlinks`` → its name in that layer's tar
        self._written_through: dict[tuple[str, int], str] = {}

    # --- building -------------------------------------------------------------------------------
    def _visible(self, path: str, upto: int | None = None) -> _Node | None:
        history = self._history.get(path)
        if not history:
            return None
        limit = self._upto if upto is None else upto
        for node in reversed(history):
            if node.layer <= limit:
                return None if node.kind == "whiteout" else node
        return None

    def _push(self, path: str, node: _Node) -> None:
        self._history.setdefault(path, []).append(node)
        if node.data is not None or node.spool is not None:
            self._kept_paths.add(path)
        elif node.kind == "symlink":
            self._symlinks.add(path)
        child = path
        while child != "/":
            parent = child.rsplit("/", 1)[0] or "/"
            siblings = self._children.setdefault(parent, set())
            name = child.rsplit("/", 1)[1]
            if name in siblings:
                break
            siblings.add(name)
            child = parent

    def _descendants(self, path: str) -> Iterator[str]:
        stack = [path]
        while stack:
            current = stack.pop()
            for name in self._children.get(current, ()):
                child = f"{current.rstrip('/')}/{name}"
                yield child
                stack.append(child)

    def _delete(self, path: str, layer: int, *, keep_self: bool) -> None:
        """A whiteout of ``layer``: what lower layers left at ``path`` (and below it) is gone. The
        deletion takes the layer's place in each history, before what the layer itself wrote there
        (the end, while the layer is applied; ``_whiteouts_through_symlinks`` applies it later)."""
        targets = list(self._descendants(path))
        if not keep_self:
            targets.append(path)
        for target in targets:
            if self._visible(target, layer - 1) is not None:
                history = self._history[target]
                place = len(history)
                while place and history[place - 1].layer >= layer:
                    place -= 1
                history.insert(place, _Node(kind="whiteout", layer=layer))
                self.changed.setdefault(layer, set()).add(target)

    def _apply(self, layer: int, pending: _Pending, selected: PathPatterns | None = None) -> None:
        """Put ``pending`` in the tree; its plain files, and hardlinks to them, wait in ``_unindexed``."""
        self._real_directories.clear()
        unindexed_links: list[str] = []
        for directory in pending.opaque_dirs:
            self._delete(directory, layer, keep_self=True)
        for path in pending.whiteouts:
            self._delete(path, layer, keep_self=False)
        by_path = dict(pending.entries)
        children = self._children
        for path, node in pending.entries:
            if node.kind != "dir" and path in children:
                self._replace_directory(path, layer)
            self._push(path, node)
        changed = self.changed.setdefault(layer, set())
        changed.update(pending.whiteouts)
        if selected is not None:
            files = pending.selected_files
            if files is None:  # an index from the cache: match its files once, here
                files = [path for path, node in pending.entries if node.kind == "file" and selected.matches(path)]
            self._selected_paths.update(files)
            changed.update(files)
            changed.update(path for path, node in pending.entries if node.kind != "file" and selected.matches(path))
        plain_by_path: dict[str, tuple[str, int, int, int]] | None = None
        entry_index: dict[str, int] | None = None
        # this layer's plain hardlinks so far: path → (the plain file they share, its path); a tar
        # links to the first name of an inode, but a hand-made one may link to a link
        plain_links: dict[str, tuple[_Node, str]] = {}
        for path, target, mode in pending.hardlinks:
            source = by_path.get(target)
            if pending.plain:
                if plain_by_path is None or entry_index is None:
                    plain_by_path = {entry[0]: entry for entry in pending.plain}
                    entry_index = {p: i for i, (p, _node) in enumerate(pending.entries)}
                # the target is the path's last entry in the tar: a plain file written after it wins
                plain = plain_by_path.get(target)
                if plain is not None and (source is None or plain[3] > entry_index[target]):
                    source = _Node(kind="file", layer=layer, mode=plain[1], size=plain[2])
                    if (linked := pending.linked.get(target)) is not None:  # read again for this link
                        source.data, source.spool = linked.data, linked.spool
                    if selected is None or not selected.matches(path):
                        unindexed_links.append(path)  # plain itself: it joins the tree with its target
                        plain_links[path] = (source, target)
                        continue
            if source is None and target in plain_links:
                source, shared = plain_links[target]
                if selected is None or not selected.matches(path):
                    unindexed_links.append(path)
                    plain_links[path] = (source, shared)
                    continue
                target = shared  # noqa: PLW2901 -- the plain file whose content a re-read fetches
            source = source or self._visible(target, layer)
            if source is None and target in self._unindexed.paths and not self._unindexed.done:
                # a lower layer's plain file (only a hand-made tar links across layers)
                if selected is None or not selected.matches(path):
                    unindexed_links.append(path)
                    continue
                source = self._lower_plain_file(target, layer)
            if source is None or source.kind != "file":
                self.warnings.append(f"layer {self.digests[layer]}: hardlink {path} → {target} has no file to share")
                continue
            if path in children:
                self._replace_directory(path, layer)
            if source.data is None and source.spool is None and target in pending.linked:
                linked = pending.linked[target]  # read again for this link (``_keep_linked_contents``)
                source = _Node(kind="file", layer=source.layer, mode=source.mode, size=source.size,
                               data=linked.data, spool=linked.spool)  # fmt: skip
            if (
                selected is not None
                and source.size
                and source.data is None
                and source.spool is None
                and selected.matches(path)
            ):
                # the stream has passed the target: its content was not kept, as its own path was not
                # asked for; ``_keep_passed_link_contents`` reads the target's layer again for it
                self._passed_links.append((path, target, source.layer, layer))
            self._push(
                path,
                _Node(
                    kind="file",
                    layer=layer,
                    mode=mode or source.mode,
                    size=source.size,
                    data=source.data,
                    spool=source.spool,
                ),
            )
            if selected is not None and selected.matches(path):
                self._selected_paths.add(path)
        for path, before in self._unindexed.add(pending, unindexed_links, children):
            # a plain file replacing a directory: what the layer wrote below it before it goes too
            self._replace_directory(path, layer, earlier={id(node) for _, node in pending.entries[:before]})

    def _replace_directory(self, path: str, layer: int, earlier: set[int] | None = None) -> None:
        """A file, symlink or hardlink at ``path``, a directory until now: what lay below it is gone,
        as containerd and Docker remove a directory (``RemoveAll``) that a non-directory entry replaces.
        Without this the tree kept files no container sees (a package a later layer removed by
        replacing its directory). ``earlier``: the nodes this layer wrote before the entry (a plain
        file, applied after the layer's other entries), when not all of them came before it."""
        for target in list(self._descendants(path)):
            node = self._visible(target, layer)
            if node is None or (node.layer == layer and earlier is not None and id(node) not in earlier):
                continue
            self._history[target].append(_Node(kind="whiteout", layer=layer))
            self.changed.setdefault(layer, set()).add(target)

    def _fill(self, path: str, layer: int, content: _Node) -> bool:
        """Give the file ``path`` that ``layer`` put in the tree ``content``, read again for it."""
        node = self._visible(path)
        if node is None or node.kind != "file" or node.layer != layer:
            return False
        node.data, node.spool = content.data, content.spool
        return True

    def _lower_plain_file(self, path: str, layer: int) -> _Node | None:
        """The plain file at ``path`` in the highest layer below ``layer`` that has one, as a node."""
        for index in range(min(layer, len(self._unindexed.applied)) - 1, -1, -1):
            for plain_path, mode, size, _before in reversed(self._unindexed.applied[index].plain):
                if plain_path == path:
                    return _Node(kind="file", layer=index, mode=mode, size=size)
        return None

    def _index_plain_files(self) -> None:
        """Rebuild the tree with every layer's plain files (once; views share the result)."""
        unindexed = self._unindexed
        if unindexed.done:
            return
        unindexed.done = True
        if not unindexed.paths:
            return
        builder = LayeredFS(self.digests, spool_dir=None, selected=self._selected)
        for index, pending in enumerate(unindexed.applied):
            entries: list[tuple[str, _Node]] = []
            taken = 0
            for path, mode, size, before in pending.plain:  # back in tar order: a path may repeat in a layer
                entries += pending.entries[taken:before]
                taken = max(taken, before)
                entries.append((path, _Node(kind="file", layer=index, mode=mode, size=size)))
            entries += pending.entries[taken:]
            full = _Pending(
                entries=entries,
                hardlinks=pending.hardlinks,
                whiteouts=pending.whiteouts,
                opaque_dirs=pending.opaque_dirs,
                selected_files=pending.selected_files or [],  # what it changes is known: no matching again
                linked=pending.linked,
            )
            builder._apply(index, full, self._selected)
        # in place: views of this filesystem hold the same dictionaries
        self._history.clear()
        self._history.update(builder._history)
        self._children.clear()
        self._children.update(builder._children)

    def _may_be_plain(self, path: str, *, as_directory: bool = False) -> None:
        """Index the plain files first if ``path`` (a real path) may be one, or may be above one."""
        unindexed = self._unindexed
        if not unindexed.done and (path in unindexed.paths or (as_directory and path in unindexed.directories)):
            self._index_plain_files()

    # --- views ----------------------------------------------------------------------------------
    def at_layer(self, index: int) -> LayeredFS:
        """The filesystem as it was after layer ``index`` (shares this one's contents)."""
        view = LayeredFS.__new__(LayeredFS)
        view.digests = self.digests
        view._history = self._history  # noqa: SLF001 -- views of one build share its history
        view._children = self._children  # noqa: SLF001
        view._spool_dir = None  # noqa: SLF001 -- only the owner deletes the spool
        view._upto = index  # noqa: SLF001
        view._files = None  # noqa: SLF001
        view._selected = self._selected  # noqa: SLF001
        view._selected_files = None  # noqa: SLF001
        view._selected_paths = self._selected_paths  # noqa: SLF001
        view._kept_paths = self._kept_paths  # noqa: SLF001
        view._real_directories = {}  # noqa: SLF001 -- symlinks differ from layer to layer
        view._unindexed = self._unindexed  # noqa: SLF001
        view._unconfirmed = []  # noqa: SLF001 -- the owner confirms
        view._packer = None  # noqa: SLF001 -- and stores
        view._hasher = None  # noqa: SLF001 -- and stops the hashing helper
        view._passed_links = []  # noqa: SLF001 -- the owner completes the tree
        view._aliases = self._aliases  # noqa: SLF001 -- checked against the view's own symlinks in ``glob``
        view._symlinks = self._symlinks  # noqa: SLF001
        view._written_through = self._written_through  # noqa: SLF001
        view.warnings = self.warnings
        view.changed = self.changed
        return view

    @property
    def layer_count(self) -> int:
        return self._upto + 1

    def confirm(self) -> None:
        """Wait for the layers still being hashed; raise the first (lowest) one's mismatch, if any.

        Until then nothing built from this filesystem may be used: ``with read_layers(…) as fs``
        confirms on leaving the block (an error there is superseded by a layer's mismatch, which
        explains it), and the layer indexes of the confirmed layers are stored only then.
        """
        unconfirmed, self._unconfirmed = self._unconfirmed, []
        for verifier, _store in unconfirmed:
            if verifier is not None and (failure := verifier.verdict()) is not None:
                for other, _ in unconfirmed:
                    if other is not None:
                        other.cancel()
                raise failure
        for _verifier, store in unconfirmed:
            if store is not None:
                store()

    def close(self) -> None:
        for verifier, _store in self._unconfirmed:
            if verifier is not None:
                verifier.cancel()
        self._unconfirmed = []
        if self._hasher is not None:  # after the verifiers' cancel: a layer still hashing is not waited for
            self._hasher.close()
            self._hasher = None
        if self._packer is not None:  # before the spool goes: the packer may be reading it
            self._packer.shutdown(wait=True, cancel_futures=True)
            self._packer = None
        if self._spool_dir is not None:
            shutil.rmtree(self._spool_dir, ignore_errors=True)
            self._spool_dir = None

    def __enter__(self) -> LayeredFS:  # noqa: PYI034 -- views are LayeredFS too; Self is 3.11-only sugar
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None or issubclass(kind, Exception):  # not for Ctrl-C: that stops the hashing too
                self.confirm()
        finally:
            self.close()

    # --- ImageFS ----------------------------------------------------------------------------------
    def _readlink(self, path: str) -> str | None:
        self._may_be_plain(path)  # a plain file may have replaced a lower layer's symlink
        node = self._visible(path)
        return node.link if node is not None and node.kind == "symlink" else None

    def realpath(self, path: str) -> str:
        directory, _, name = path.rpartition("/")
        if not directory or name in {"", ".", ".."}:
            return resolve_inside_root(path, self._readlink)
        return resolve_in_directory(directory, name, self._readlink, self._real_directories)

    def _lookup(self, path: str, *, as_directory: bool = False) -> tuple[str, _Node | None]:
        try:
            real = self.realpath(path)
        except UnsafeArchiveError:
            return path, None
        self._may_be_plain(real, as_directory=as_directory)
        return real, self._visible(real)

    def _has_visible_children(self, path: str) -> bool:
        return any(self._visible(f"{path.rstrip('/')}/{n}") is not None for n in self._children.get(path, ()))

    def exists(self, path: str) -> bool:
        real, node = self._lookup(path, as_directory=True)
        return node is not None or real == "/" or self._has_visible_children(real)

    def is_dir(self, path: str) -> bool:
        real, node = self._lookup(path, as_directory=True)
        if node is not None:
            return node.kind == "dir"
        return real == "/" or self._has_visible_children(real)

    def is_file(self, path: str) -> bool:
        _, node = self._lookup(path)
        return node is not None and node.kind == "file"

    def listdir(self, path: str) -> list[str]:
        if not self.is_dir(path):
            raise FileNotFoundError(path)
        real = self.realpath(path)
        prefix = real.rstrip("/")
        return sorted(
            n
            for n in self._children.get(real, ())
            if self._visible(f"{prefix}/{n}") is not None or self._has_visible_children(f"{prefix}/{n}")
        )

    def _file(self, path: str) -> _Node:
        _, node = self._lookup(path)
        if node is None or node.kind != "file":
            raise FileNotFoundError(path)
        return node

    def size(self, path: str) -> int:
        return self._file(path).size

    def mode(self, path: str) -> int:
        _, node = self._lookup(path)
        if node is None:
            raise FileNotFoundError(path)
        kind_bits = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK}.get(node.kind, 0)
        return kind_bits | (node.mode & 0o7777)

    def open(self, path: str) -> BinaryIO:
        node = self._file(path)
        if node.data is not None:
            return io.BytesIO(node.data)
        if node.spool is not None:
            return node.spool.open("rb")
        if node.size == 0:
            return io.BytesIO(b"")
        msg = f"{path}: its content was not selected while reading the layers"
        raise FileNotFoundError(msg)

    def read_bytes(self, path: str, max_bytes: int) -> bytes:
        node = self._file(path)
        if node.size > max_bytes:
            raise FileTooLargeError(f"{path} is larger than {max_bytes} bytes", hint="the file is skipped")
        with self.open(path) as f:
            return f.read()

    def walk(self) -> Iterator[str]:
        self._index_plain_files()
        if self._files is None:
            self._files = sorted(p for p in self._history if (n := self._visible(p)) is not None and n.kind == "file")
        return iter(self._files)

    def executables(self) -> Iterator[str]:
        # only files whose contents were kept: the layer reader already dropped executables no
        # cataloger has a marker for, so this is a handful of paths, not every file of the image
        for path in sorted(self._kept_paths):
            node = self._visible(path)
            if (
                node is not None
                and node.kind == "file"
                and node.mode & 0o111
                and (node.data is not None or node.spool is not None)
            ):
                yield path

    def glob(self, patterns: Iterable[str]) -> Iterator[str]:
        compiled = PathPatterns(patterns)
        if self._selected is None or not set(compiled.patterns) <= set(self._selected.patterns):
            return (p for p in self.walk() if compiled.matches(p))
        # every cataloger globs for a subset of the selection: match its globs against the few
        # hundred selected files once per view, not against every file once per cataloger
        if self._selected_files is None:
            self._selected_files = sorted(
                p for p in self._selected_paths if (n := self._visible(p)) is not None and n.kind == "file"
            )
        if not self._aliases:
            return (p for p in self._selected_files if compiled.matches(p))
        aliased = {
            path
            for path in self._aliases
            if compiled.matches(path) and self.is_file(path) and not compiled.matches(self.realpath(path))
        }
        return iter(sorted(aliased.union(p for p in self._selected_files if compiled.matches(p))))

    def layer_of(self, path: str) -> str | None:
        _, node = self._lookup(path)
        return None if node is None else self.digests[node.layer]


class _Budget:
    """Limits shared by the layers read at the same time (entries, bytes, memory, spool)."""

    def __init__(self, limits: LayerLimits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self.entries = 0
        self.uncompressed = 0
        self.in_memory = 0
        self.spooled = 0
        self.cancelled = False

    def add_entries(self, digest: str, added: int, layer_entries: int) -> None:
        """Count ``added`` more entries, ``layer_entries`` so far in this layer; refuse a flood."""
        with self._lock:
            self.entries += added
            total = self.entries
        limits = self.limits
        if layer_entries > limits.max_entries_per_layer or total > limits.max_entries_total:
            raise UnsafeArchiveError(
                f"layer {digest} has more than {min(limits.max_entries_per_layer, limits.max_entries_total)} entries",
                hint="an entry flood; refusing the image",
            )

    def add_bytes(self, digest: str, produced: int) -> None:
        with self._lock:
            self.uncompressed += produced
            total = self.uncompressed
        if self.cancelled:
            raise UnsafeArchiveError(f"layer {digest}: stopped, another layer was refused", hint="see the other error")
        if total > self.limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"the image expands past {self.limits.max_total_bytes} bytes",
                hint="a decompression bomb or an unusually large image; refusing the image",
            )

    def reserve_memory(self, size: int) -> bool:
        with self._lock:
            if self.in_memory + size > self.limits.max_memory_bytes:
                return False
            self.in_memory += size
            return True

    def release_memory(self, size: int) -> None:
        with self._lock:
            self.in_memory -= size

    def release_spool(self, size: int) -> None:
        with self._lock:
            self.spooled -= size

    def reserve_spool(self, size: int) -> bool:
        with self._lock:
            if self.spooled + size > self.limits.max_spool_bytes:
                return False
            self.spooled += size
            return True


@dataclass(frozen=True, slots=True)
class _Reading:
    """What every layer of one ``read_layers`` call is read with."""

    selection: Selection
    selected: PathPatterns
    budget: _Budget
    spool_dir: Path
    # hashes (and, for a docker-archive, indexes) the plain-tar layers parsed in place; the caller's
    # to close, so no default: one made here would outlive the read
    hasher: LayerHasher
    defer_verification: bool = False
    packer: ThreadPoolExecutor | None = None  # compresses layer indexes for the cache (``_IndexPacker``)


def _new_pending(reading: _Reading) -> _Pending:
    return _Pending(selected_files=[], index=_IndexPacker(reading.packer) if reading.packer is not None else None)


def _read_layer(index: int, layer: LayerInput, reading: _Reading) -> _Pending:
    pending = _read_layer_once(index, layer, reading)
    if pending.hardlinks:
        _keep_linked_contents(index, layer, pending, reading)
    return pending


def _keep_linked_contents(index: int, layer: LayerInput, pending: _Pending, reading: _Reading) -> None:
    """A selected path that is a hardlink to a file the layer wrote before it whose content was not
    kept: the stream had passed it, so the layer is read once more for it (containerd, trivy and
    syft read the link's content; otherwise a layer could hide ``/var/lib/dpkg/status`` behind a
    link). The contents go to ``pending.linked``, which ``LayeredFS._apply`` gives the links, and
    into the layer's cache index, so a layer from the cache needs no second read; a link
    ``_apply`` still finds without content (one to a lower layer) is completed by
    ``_keep_passed_link_contents``. Rare: real layers link binaries, not the files catalogers read."""
    wanted = reading.selected.matches
    linked_to = {target for path, target, _ in pending.hardlinks if wanted(path)}
    if not linked_to:
        return  # the usual case: the layer's hardlinks are programs and libraries, not selected
    unkept = {entry[0] for entry in pending.plain if entry[0] in linked_to}
    unkept.update(
        p
        for p, node in pending.entries
        if p in linked_to and node.kind == "file" and node.data is None and node.spool is None
    )
    targets = {target for target in linked_to if target in unkept}
    if not targets:
        return
    # the last entry of a path is the one a link made after it shares
    pending.linked.update(_reread(index, layer, targets, reading.spool_dir, reading.budget.limits))
    if pending.index is not None:
        for path in sorted(pending.linked):
            pending.index.add(pending.linked[path], linked=True)


def _read_layer_once(index: int, layer: LayerInput, reading: _Reading) -> _Pending:
    plain = _open_plain_tar(layer)
    if plain is not None:
        return _read_plain_tar(index, layer, plain, reading)
    pending = _new_pending(reading)
    stream = _LayerStream(layer, reading.budget)
    try:
        _read_entries(TarReader(stream.chunks()), index, layer, pending, reading)
        # the tar's end marker is not the blob's end: what follows it is read too (and counted
        # against the limits), or a blob altered only there would never reach its digest check
        for _ in stream.chunks():
            pass
    finally:
        stream.close()
    return pending


def _read_plain_tar(index: int, layer: LayerInput, plain: tuple[int, int, int], reading: _Reading) -> _Pending:
    """Parse a plain-tar layer in place, seeking over unwanted contents, while ``_Verifier`` hashes it all.

    Nothing read here counts until the verifier's verdict: a digest mismatch (or a truncated
    blob) is raised in preference to whatever the parse made of the altered bytes. With
    ``defer_verification`` a parse that succeeds returns at once, its verifier still hashing
    (``_Pending.verifier``): ``LayeredFS.confirm`` waits for the verdict.
    """
    fd, offset, size = plain
    budget = reading.budget
    pending = _new_pending(reading)
    try:
        # a plain tar expands to itself: the size limits apply to its stored size, up front
        if size > budget.limits.max_layer_bytes:
            raise UnsafeArchiveError(
                f"layer {layer.digest} expands past {budget.limits.max_layer_bytes} bytes",
                hint="a decompression bomb or an unusually large layer; refusing the image",
            )
        budget.add_bytes(layer.digest, size)
        verifier = _HelperVerifier(layer, fd, offset, size, reading)
        try:
            reader = TarReader(FileSource(fd, offset, size))
            # a docker-archive's layer the helper has parsed ahead, while the command started up
            # (deb-min: 42 ms of headers, replayed in 4 ms); otherwise parsed here
            tar_index = reading.hasher.index(fd, offset, size)
            members = reader if tar_index is None else reader.replay(tar_index)
            _read_entries(reader, index, layer, pending, reading, members=members)
        except BaseException as exc:
            failure = verifier.verdict()
            if failure is not None:
                raise failure from exc
            raise
        if reading.defer_verification:
            pending.verifier = verifier
        elif (failure := verifier.verdict()) is not None:
            raise failure
    finally:
        os.close(fd)
    return pending


def _read_entries(
    reader: TarReader,
    index: int,
    layer: LayerInput,
    pending: _Pending,
    reading: _Reading,
    *,
    members: Iterable[TarEntry] | None = None,
) -> None:
    """Record every entry of one layer (``members``: ``reader`` itself, or an index it replays), in
    the loop: a function call per entry was a sixth of the parse. Only whiteouts (``_whiteout``) and
    the files whose content may be kept (``_keep_file``: selected ones, and executables a filter may
    want) leave it."""
    budget = reading.budget
    limits = budget.limits
    digest = layer.digest
    warn = pending.warnings.append
    entries = pending.entries
    plain = pending.plain
    wanted = reading.selected.matches
    executables = bool(reading.selection.executable_filters)
    count = 0
    for count, member in enumerate(_members(reader if members is None else members, digest), start=1):
        if not count % _ENTRIES_PER_COUNT:  # counted in batches: a lock per entry was 5 % of the parse
            budget.add_entries(digest, _ENTRIES_PER_COUNT, count)
        path = _safe_member_path(member.name, limits, warn, digest)
        if path is None or path == "/":
            continue
        kind = member.type
        if path.startswith(".wh.", path.rfind("/") + 1):  # a whiteout: its last segment says so
            _whiteout(path, pending)
        elif kind == DIRECTORY:
            entries.append((path, _Node(kind="dir", layer=index, mode=member.mode)))
        elif kind == SYMLINK:
            entries.append((path, _Node(kind="symlink", layer=index, mode=member.mode, link=member.linkname)))
        elif kind in _REGULAR_TYPES:
            wants = wanted(path)
            # an executable may be a Go or Rust program (ExecutableFilter): its first bytes tell
            if wants or (executables and member.mode & 0o111 and member.size >= 4):  # noqa: PLR2004
                _keep_file(reader, member, path, wants, index=index, digest=digest, pending=pending, reading=reading)
            else:
                plain.append((path, member.mode, member.size, len(entries)))
        elif kind == HARDLINK:
            target = _safe_member_path(member.linkname, limits, warn, digest)
            if target is not None:
                pending.hardlinks.append((path, target, member.mode))
        else:
            warn(f"layer {digest}: skipped {path}: device files and FIFOs are not inventoried")
    budget.add_entries(digest, count % _ENTRIES_PER_COUNT, count)


def read_layers(
    layers: Sequence[LayerInput],
    *,
    selection: Selection,
    limits: LayerLimits | None = None,
    warn: Callable[[str], None] | None = None,
    parallel: int | None = None,
    store: LayerIndexStore | None = None,
    defer_verification: bool = False,
    hasher: LayerHasher | None = None,
) -> LayeredFS:
    """Stream every layer once; return the assembled filesystem (close it when done).

    Up to ``parallel`` layers (default: one per core, at most 3) are read at the same time (one at a
    time when every layer is a plain tar parsed in place); they are applied strictly in order. Each
    layer already keeps two threads busy (inflating or hashing, which release the GIL, and parsing,
    which holds it): more layers than cores only make the parsers wait for each other (a 4-layer
    image read 15 % slower with 3 at a time than with 2 on 2 cores). With a ``store``, a layer read
    before with the same selection is not opened again: its index (entries, selected small
    contents) comes from the store; the indexes of the layers read are stored when the filesystem
    is confirmed (``confirm()``, or leaving a ``with`` block), never for a read that failed.

    ``defer_verification``: a plain-tar layer read in place (hashed beside its parse) is applied
    as soon as it is parsed, its hash left running, so the caller catalogues the image while the
    largest layer is still being hashed (docker-archive ``big``: its 1.1 GB layer hashes for ~1 s).
    The caller must then ``confirm()`` (leaving a ``with`` block does) before using any result.

    ``hasher``: the helper process that hashes plain-tar layers (``layer_hasher``); a caller that
    knows layers will be parsed in place starts one early (the helper's start-up then overlaps
    resolving the image) and closes it after the filesystem. By default the read starts its own.
    """
    if parallel is None:
        parallel = max(1, min(3, os.cpu_count() or 1))
    budget = _Budget(limits or LayerLimits())
    spool_dir = Path(tempfile.mkdtemp(prefix="wharfinger-layers-"))
    selected = PathPatterns(selection.patterns)
    fs = LayeredFS([layer.digest for layer in layers], spool_dir=spool_dir, selected=selected)
    packer = fs._packer = (  # noqa: SLF001 -- the builder owns the tree
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="wharfinger-layer-pack") if store is not None else None
    )
    if hasher is None:
        hasher = fs._hasher = LayerHasher()  # noqa: SLF001 -- its own: stopped when the filesystem is closed
    reading = _Reading(selection, selected, budget, spool_dir, hasher, defer_verification, packer)
    keys = [_layer_key(layer.digest, selection) for layer in layers]
    cached: dict[int, _Pending] = {}
    if store is not None:  # looked up here, in the caller's thread: the store need not be thread-safe
        for index, key in enumerate(keys):
            # a cached index holds its contents in memory: counted like those read now, and past
            # the budget the layer is read again (its contents then spooled)
            if (
                (value := store.get_layer(key)) is not None
                and (hit := _decode_pending(value, index, store.layer_files(key))) is not None
                and budget.reserve_memory(
                    sum(len(node.data or b"") for node in (*(n for _, n in hit.entries), *hit.linked.values()))
                )
            ):
                cached[index] = hit

    def read(index: int) -> tuple[_Pending, Future[_Packed | None] | None]:
        pending = _read_layer(index, layers[index], reading)
        # the contents were packed as they were kept; the metadata is described here, in the
        # layer's worker, and the index stored when the caller confirms
        return pending, (pending.index.finish(_index_meta(pending)) if pending.index is not None else None)

    def remember(index: int, read_now: tuple[_Pending, Future[_Packed | None] | None]) -> _Pending:
        pending, packed = read_now
        put = None if store is None or packed is None else functools.partial(_store_packed, store, keys[index], packed)
        if pending.verifier is not None or put is not None:
            fs._unconfirmed.append((pending.verifier, put))  # noqa: SLF001 -- stored once confirmed
        return pending

    missing = [i for i in range(len(layers)) if i not in cached]
    if parallel > 1 and len(missing) > 1 and all(_lies_as_plain_tar(layers[i]) for i in missing):
        # parsed in place, a layer holds the GIL from its first header to its last (its hash runs
        # beside it, in C, and reads release the GIL only briefly): two parsers at a time only
        # take it from each other (py-app docker-archive, 4 layers: 285 ms two at a time, 243 ms in turn)
        parallel = 1
    try:
        if parallel <= 1 or len(missing) <= 1:
            pendings: Iterator[_Pending] = (
                cached[i] if i in cached else remember(i, read(i)) for i in range(len(layers))
            )
            _apply_all(fs, pendings, selected, warn)
        else:
            with ThreadPoolExecutor(max_workers=min(parallel, len(missing))) as pool:
                # largest first: the biggest layer bounds the wall time, it should not wait for a worker
                by_size = sorted(missing, key=lambda i: -(layers[i].size or 0))
                futures = {i: pool.submit(read, i) for i in by_size}
                try:
                    _apply_all(
                        fs,
                        (cached[i] if i in cached else remember(i, futures[i].result()) for i in range(len(layers))),
                        selected,
                        warn,
                    )
                except BaseException:
                    budget.cancelled = True
                    for future in futures.values():
                        future.cancel()
                    raise
        _keep_passed_link_contents(fs, layers, spool_dir, budget.limits)
        _write_through_symlinks(fs, layers, spool_dir, budget.limits)
        _whiteouts_through_symlinks(fs)
        _keep_symlinked_contents(fs, layers, selection, spool_dir, budget.limits)
    except BaseException:
        fs.close()
        raise
    return fs


def _literal_glob(path: str) -> str:
    """``path`` as a glob that matches only itself."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in path)


def _reread(index: int, layer: LayerInput, paths: set[str], spool_dir: Path, limits: LayerLimits) -> dict[str, _Node]:
    """The contents of ``paths`` in one layer, read once more (the last entry of a path wins)."""
    patterns = tuple(sorted(_literal_glob(p) for p in paths))
    again_dir = Path(tempfile.mkdtemp(prefix=f"again-{index}-", dir=spool_dir))  # its spools apart
    hasher = LayerHasher()  # the layer is hashed again: the file may have changed since the first read
    try:
        again = _read_layer_once(
            index,
            layer,
            _Reading(Selection(patterns=patterns), PathPatterns(patterns), _Budget(limits), again_dir, hasher=hasher),
        )
    finally:
        hasher.close()
    return {
        path: node
        for path, node in again.entries
        if path in paths and (node.data is not None or node.spool is not None)
    }


def _keep_passed_link_contents(
    fs: LayeredFS, layers: Sequence[LayerInput], spool_dir: Path, limits: LayerLimits
) -> None:
    """Selected hardlinks to a lower layer's file whose content was not kept (only hand-made tars
    link across layers; containerd links to the lower file): that layer is read once more for it.
    The content also goes into the link's layer (``_Pending.linked``), so a rebuilt tree keeps it."""
    passed, fs._passed_links = fs._passed_links, []  # noqa: SLF001 -- the builder completes its own tree
    by_layer: dict[int, set[str]] = {}
    for _path, target, source_layer, _layer in passed:
        by_layer.setdefault(source_layer, set()).add(target)
    found = {
        (index, target): node
        for index, targets in by_layer.items()
        for target, node in _reread(index, layers[index], targets, spool_dir, limits).items()
    }
    for path, target, source_layer, link_layer in passed:
        content = found.get((source_layer, target))
        if content is None or not fs._fill(path, link_layer, content):  # noqa: SLF001
            fs.warnings.append(
                f"layer {fs.digests[link_layer]}: the content of {path} (a hardlink to {target}) was not kept"
            )
            continue
        fs._unindexed.applied[link_layer].linked[target] = content  # noqa: SLF001


_NAMED = 3  # entries a warning names


def _write_through_symlinks(fs: LayeredFS, layers: Sequence[LayerInput], spool_dir: Path, limits: LayerLimits) -> None:
    """Entries a layer wrote below a path that was a symlink then go where the link leads.

    containerd and Docker resolve an entry's directory inside the root before they create it
    (``RootPath``): with ``/var/lib/dpkg`` a symlink to ``/opt/db``, a later layer's
    ``var/lib/dpkg/status`` lands at ``/opt/db/status``, where a container's dpkg reads it. The tree
    kept it at its literal path, which no lookup through the link reaches, so a layer could hide
    its packages behind an older database. Only hand-made tars do this (a build diffs real
    directories): each such entry is moved to its real path in its own layer, its content read
    once more if the selection passed it over there, and each layer's warning names them (whiteouts:
    ``_whiteouts_through_symlinks``). Without such entries, the usual case, this costs a dictionary
    lookup per symlink.
    """

    unindexed = fs._unindexed  # noqa: SLF001 -- the builder completes its own tree

    def links_with_entries_below() -> list[str]:
        found = []
        for link in fs._symlinks:  # noqa: SLF001
            in_tree, in_plain = link in fs._children, link in unindexed.directories  # noqa: SLF001
            if not (in_tree or in_plain) or (node := fs._visible(link)) is None or node.kind != "symlink":  # noqa: SLF001
                continue
            # a directory a link replaced keeps its name in the tree, its entries whited out
            # (usrmerge: /bin); only entries written since the link was made count
            if (in_tree and fs._has_visible_children(link)) or (  # noqa: SLF001
                in_plain and not unindexed.done and _plain_below(unindexed, link, node.layer)
            ):
                found.append(link)
        return found

    if not links_with_entries_below():
        return
    fs._index_plain_files()  # noqa: SLF001 -- every entry below the links is in the tree, and stays (done)
    below = links_with_entries_below()  # a plain file may have replaced a link
    moves: list[tuple[str, str, _Node]] = []
    gone: list[tuple[str, _Node]] = []  # below a link to what is now a file: no container has them
    for link in sorted(below):
        for path in sorted(fs._descendants(link)):  # noqa: SLF001
            node = fs._visible(path)  # noqa: SLF001
            if node is None:
                continue
            directory, _, name = path.rpartition("/")
            try:
                real_directory = fs.realpath(directory)
            except UnsafeArchiveError:
                gone.append((path, node))  # a loop: a container could not create it either
                continue
            if _below_a_file(fs, real_directory):
                gone.append((path, node))
            elif (real := f"{real_directory.rstrip('/')}/{name}") != path:
                moves.append((path, real, node))
    fs._real_directories.clear()  # noqa: SLF001 -- moved symlinks may lead elsewhere now
    for path, node in gone:
        fs._history[path].append(_Node(kind="whiteout", layer=node.layer))  # noqa: SLF001
    reread: dict[int, set[str]] = {}
    moved_by_layer: dict[int, list[tuple[str, str]]] = {}
    for path, real, node in moves:
        moved = _Node(kind=node.kind, layer=node.layer, mode=node.mode, size=node.size, link=node.link,
                      data=node.data, spool=node.spool)  # fmt: skip
        fs._history[path].append(_Node(kind="whiteout", layer=node.layer))  # noqa: SLF001
        fs._push(real, moved)  # noqa: SLF001
        fs._written_through[real, node.layer] = path  # noqa: SLF001 -- its name in the layer's tar
        fs._history[real].sort(key=lambda n: n.layer)  # noqa: SLF001 -- in its layer's place (stable)
        fs.changed.setdefault(node.layer, set()).update((path, real))
        moved_by_layer.setdefault(node.layer, []).append((path, real))
        if fs._selected is not None and fs._selected.matches(real) and moved.kind == "file":  # noqa: SLF001
            fs._selected_paths.add(real)  # noqa: SLF001
            if moved.size and moved.data is None and moved.spool is None:
                reread.setdefault(node.layer, set()).add(path)
    for index, pairs in sorted(moved_by_layer.items()):  # one warning a layer: a hostile one may hold thousands
        shown = ", ".join(f"{path} → {real}" for path, real in pairs[:_NAMED]) + (", …" if len(pairs) > _NAMED else "")
        fs.warnings.append(
            f"layer {fs.digests[index]}: {len(pairs)} entries lie below a symlink, read where a container "
            f"finds them: {shown}"
        )
    for index, paths in reread.items():
        again = _reread(index, layers[index], paths, spool_dir, limits)
        for path, real, node in moves:
            if node.layer == index and path in again:
                fs._fill(real, index, again[path])  # noqa: SLF001


def _whiteouts_through_symlinks(fs: LayeredFS) -> None:
    """Whiteouts a layer wrote below a symlink delete where the link leads, as containerd applies
    them (``RootPath`` of the whiteout's directory): ``var/lib/dpkg/.wh.status`` with ``/var/lib/dpkg``
    a link to ``/opt/db`` deletes ``/opt/db/status``, and an opaque ``x/.wh..wh..opq`` with ``x`` a
    link empties the directory it leads to. Applied at the literal path, they deleted nothing, and
    the inventory kept packages no container has. The deletion takes the layer's place in each
    path's history (before what the layer itself wrote there). Hand-made tars only; costs a
    ``realpath`` per whiteout."""
    found: list[tuple[int, str, bool]] = []  # (layer, real path, whether it is kept: an opaque directory)
    for index, pending in enumerate(fs._unindexed.applied):  # noqa: SLF001 -- the builder completes its own tree
        if not pending.whiteouts and not pending.opaque_dirs:
            continue
        view = fs.at_layer(index)
        for path, opaque in (*((w, False) for w in pending.whiteouts), *((d, True) for d in pending.opaque_dirs)):
            directory, _, name = path.rpartition("/")
            try:
                real = view.realpath(path) if opaque else f"{view.realpath(directory or '/').rstrip('/')}/{name}"
            except UnsafeArchiveError:
                continue
            if real != path:
                found.append((index, real, opaque))
    if not found:
        return
    fs._index_plain_files()  # noqa: SLF001 -- what the whiteouts delete may be plain files
    for index, real, opaque in found:
        fs._delete(real, index, keep_self=opaque)  # noqa: SLF001
    fs._real_directories.clear()  # noqa: SLF001


def _plain_below(unindexed: _Unindexed, link: str, since: int) -> bool:
    """Whether a layer from ``since`` on put a plain file (or plain hardlink) below ``link``."""
    prefix = link.rstrip("/") + "/"
    return any(
        path.startswith(prefix)
        for pending in unindexed.applied[since:]
        for path in (*(entry[0] for entry in pending.plain), *(link_path for link_path, _, _ in pending.hardlinks))
    )


def _below_a_file(fs: LayeredFS, directory: str) -> bool:
    """Whether a resolved directory lies at or below a file: nothing can be created there (a missing
    directory is made by the write, as containerd's ``MkdirAll``)."""
    parts = directory.split("/")
    for end in range(2, len(parts) + 1):
        node = fs._visible("/".join(parts[:end]))  # noqa: SLF001
        if node is not None and node.kind != "dir":
            return True
    return False


def _keep_symlinked_contents(
    fs: LayeredFS, layers: Sequence[LayerInput], selection: Selection, spool_dir: Path, limits: LayerLimits
) -> None:
    """A selected path with a literal directory (an OS package database, distroless ``status.d/*``,
    ``os-release``) reached through a symlink, the file's own or a directory's above it, names a
    file the selection did not match, whose content the stream passed over: that file's layer is
    read once more for it, and ``glob`` lists it under the name asked for (``through_symlinks``).
    dpkg, apk, rpm and a container follow the link (so does syft); without this a symlinked
    ``/var/lib/dpkg`` hid every OS package. The same holds below a symlinked directory that a
    ``**/a/b`` pattern names (``/app/vendor`` → ``/opt/php``: ``below_symlinks``), as syft follows
    those. No symlink on the way, the usual case, costs a ``realpath`` per literal pattern and a
    set lookup per symlink."""
    patterns = (*selection.patterns, *below_symlinks(fs, selection.patterns, fs._symlinks))  # noqa: SLF001
    fs._aliases = through_symlinks(fs, patterns)  # noqa: SLF001 -- the builder completes its own tree
    targets: dict[int, dict[str, str]] = {}  # layer → {the file's name in its tar: its path in the tree}
    for real in fs._aliases.values():  # noqa: SLF001
        _, node = fs._lookup(real)  # noqa: SLF001 -- a plain file puts the plain files in the tree first
        if node is not None and node.kind == "file" and node.size and node.data is None and node.spool is None:
            written = fs._written_through.get((real, node.layer), real)  # noqa: SLF001
            targets.setdefault(node.layer, {})[written] = real
    for index, paths in targets.items():
        for written, found in _reread(index, layers[index], set(paths), spool_dir, limits).items():
            fs._fill(paths[written], index, found)  # noqa: SLF001


def _apply_all(
    fs: LayeredFS, pendings: Iterable[_Pending], selected: PathPatterns, warn: Callable[[str], None] | None
) -> None:
    for index, pending in enumerate(pendings):
        for message in pending.warnings:
            fs.warnings.append(message)
            log.debug("%s", message, extra={"event": "inventory.layer.skipped"})
            if warn is not None:
                warn(message)
        fs._apply(index, pending, selected)  # noqa: SLF001 -- the builder owns the tree


def _members(members: Iterable[TarEntry], digest: str) -> Iterator[TarEntry]:
    try:
        yield from members
    except UnsafeArchiveError as exc:
        raise UnsafeArchiveError(f"layer {digest}: {exc.message}", hint=exc.hint) from exc


def _whiteout(path: str, pending: _Pending) -> None:
    """``.wh..wh..opq`` hides the lower layers' contents of its directory, ``.wh.NAME`` hides ``NAME``."""
    directory, _, base = path.rpartition("/")
    directory = directory or "/"
    if base == ".wh..wh..opq":
        pending.opaque_dirs.append(directory)
    else:
        pending.whiteouts.append(normalize_path(f"{directory}/{base[4:]}"))


def _keep_file(
    reader: TarReader,
    member: TarEntry,
    path: str,
    wants: bool,
    *,
    index: int,
    digest: str,
    pending: _Pending,
    reading: _Reading,
) -> None:
    """A regular file the selection wants, or an executable that may be a Go or Rust program: its
    content is kept (in memory, or spooled when large) if it is selected or a filter accepts it."""
    budget = reading.budget
    limits = budget.limits
    selection = reading.selection
    warn = pending.warnings.append
    if wants and pending.selected_files is not None:
        pending.selected_files.append(path)
    node = _Node(kind="file", layer=index, mode=member.mode, size=member.size)
    pending.entries.append((path, node))
    if member.size > limits.max_selected_file_bytes:
        warn(f"layer {digest}: skipped the content of {path}: {member.size} bytes is over the per-file limit")
        return
    head = b""
    filters = () if wants else selection.executable_filters
    if not wants and (read_at := reader.read_at()) is not None:
        # in place: the filters judge from a few positional reads (an ELF file's section table);
        # what they reject is never read, only seeked over (deb-min: 38 MB of executables)
        if not read_at(0, 4).startswith(_NATIVE_MAGICS):
            return
        verdicts = [(f, f.keep_at(read_at, member.size) if f.keep_at is not None else None) for f in filters]
        if any(verdict for _, verdict in verdicts):
            filters = ()  # kept, whatever the others say
        else:
            filters = tuple(f for f, verdict in verdicts if verdict is None)  # only the bytes can tell
            if not filters:
                return
    elif not wants:
        head = reader.read(4)
        if not head.startswith(_NATIVE_MAGICS):
            return
    if member.size <= limits.max_memory_file_bytes and budget.reserve_memory(member.size):
        data = head + reader.read()
        if not filters or any(f.keep(data) for f in filters):
            node.data = data
            if pending.index is not None:
                pending.index.add(node)
        else:
            budget.release_memory(member.size)
        return
    if not budget.reserve_spool(member.size):
        warn(f"layer {digest}: skipped the content of {path}: the spool limit of {limits.max_spool_bytes} bytes")
        return
    spool = reading.spool_dir / f"{index}-{len(pending.entries)}"
    with spool.open("wb") as out:
        out.write(head)
        reader.copy_to(out)
    if filters and not _spool_kept(spool, filters):
        spool.unlink()
        budget.release_spool(member.size)
        return
    node.spool = spool
    if pending.index is not None:
        pending.index.add(node)


def _spool_kept(spool: Path, filters: tuple[ExecutableFilter, ...]) -> bool:
    with spool.open("rb") as file, mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return any(f.keep(data) for f in filters)
