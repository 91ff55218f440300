"""Layers applied in order as one read-only filesystem, streamed and bounded against hostile input.

``read_layers(layers, select=…)`` walks each layer's tar once, as a stream (gzip, zstd or plain tar,
recognised by magic bytes whatever the media type says), and keeps:

* the metadata of every entry (type, mode, size, link target, the layer it came from);
* the *contents* of the files ``select`` asks for (the catalogers' globs and, when asked, native
  executables): small ones in memory, larger ones spooled to a private temporary directory.

Whiteouts follow the OCI image spec: ``.wh.NAME`` deletes ``NAME`` (and everything under it) from
the lower layers, ``.wh..wh..opq`` hides every lower entry of its directory. Hardlinks share the
content of their target. Symlinks are resolved inside the image root (``filesystem.resolve_inside_root``).

Each path keeps its history (one node per layer that touched it), so ``LayeredFS.at_layer(i)``
gives the filesystem as it was after layer ``i``: the inventory uses it to say which layer
introduced each package.

Hostile layers: entries with ``..`` components or absolute paths, device files and FIFOs are
skipped with a warning; decompression bombs (ratio or total size) and entry floods refuse the
whole image with ``UnsafeArchiveError``. Limits are in ``LayerLimits``.
"""

from __future__ import annotations

import io
import logging
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

from wharfinger.errors import UnsafeArchiveError, WharfingerError
from wharfinger.inventory.filesystem import FileTooLargeError, PathPatterns, normalize_path, resolve_inside_root

__all__ = ["LayerInput", "LayerLimits", "LayeredFS", "Selection", "read_layers"]

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_NATIVE_MAGICS = (b"\x7fELF", b"MZ", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
_READ_CHUNK = 1024 * 1024  # bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerInput:
    """One layer as the OCI client hands it over: its digest and a way to open the blob stream."""

    digest: str  # "sha256:…" of the compressed blob
    media_type: str  # a hint only: the stream's magic bytes decide how it is decompressed
    open: Callable[[], BinaryIO]  # the compressed blob; read_layers closes it
    size: int | None = None  # compressed bytes, when the manifest says


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
    max_selected_file_bytes: int = 2 * 1024**3  # a selected file larger than this is skipped
    max_spool_bytes: int = 32 * 1024**3  # total bytes spooled to the temporary directory


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Which files' contents to keep while streaming."""

    patterns: tuple[str, ...] = ()
    native_executables: bool = False  # also keep ELF/PE/Mach-O files with an execute bit


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


class _LayerStream(io.RawIOBase):
    """A decompressed, size-checked view of a layer blob (for ``tarfile`` in stream mode)."""

    def __init__(self, layer: LayerInput, limits: LayerLimits, total_before: int) -> None:
        super().__init__()
        self._blob = layer.open()
        self._digest = layer.digest
        self._limits = limits
        self._total_before = total_before
        self.compressed = 0
        self.uncompressed = 0
        self._chunks = self._decompressed()
        self._buffer = b""

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

            prefixed: BinaryIO = _Prefixed(head, self._blob, self)  # type: ignore[assignment]  # a RawIOBase reader
            reader = zstandard.ZstdDecompressor().stream_reader(prefixed)
            while chunk := reader.read(_READ_CHUNK):
                yield bytes(chunk)
        else:  # an uncompressed tar
            yield head
            while chunk := self._read_raw():
                yield chunk

    def _gunzip(self, head: bytes) -> Iterator[bytes]:
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
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
                decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)  # concatenated members (pigz)
                data = rest
        tail = decoder.flush()
        if not decoder.eof:
            raise EOFError("the gzip stream ends before its end marker")
        yield tail

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io types it as WriteableBuffer
        while not self._buffer:
            try:
                produced = next(self._chunks, None)
            except (zlib.error, OSError, EOFError) as exc:
                raise self._corrupt(exc) from exc
            except WharfingerError:
                raise
            except Exception as exc:  # zstandard.ZstdError has no common base; translated here
                raise self._corrupt(exc) from exc
            if produced is None:
                return 0
            self._account(len(produced))
            self._buffer = produced
        n = min(len(buffer), len(self._buffer))
        buffer[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

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
        if self._total_before + self.uncompressed > limits.max_total_bytes:
            raise UnsafeArchiveError(
                f"the image expands past {limits.max_total_bytes} bytes",
                hint="a decompression bomb or an unusually large image; refusing the image",
            )
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
        try:
            self._blob.close()
        finally:
            super().close()


class _Prefixed(io.RawIOBase):
    """The blob with its already-read magic bytes put back in front (for zstandard's reader)."""

    def __init__(self, head: bytes, blob: BinaryIO, owner: _LayerStream) -> None:
        super().__init__()
        self._head = head
        self._blob = blob
        self._owner = owner

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        chunk = self._blob.read(size if size > 0 else _READ_CHUNK)
        self._owner.compressed += len(chunk)
        return chunk

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io types it as WriteableBuffer
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass(slots=True)
class _Pending:
    """One layer's entries, applied after its whiteouts (which only affect lower layers)."""

    entries: list[tuple[str, _Node]] = field(default_factory=list)
    hardlinks: list[tuple[str, str, int]] = field(default_factory=list)  # path, target, mode
    whiteouts: list[str] = field(default_factory=list)
    opaque_dirs: list[str] = field(default_factory=list)


def _safe_member_path(name: str, limits: LayerLimits, warn: Callable[[str], None], digest: str) -> str | None:
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


class LayeredFS:
    """The image's filesystem after applying its layers; an ``ImageFS``. Close it to drop spooled files."""

    def __init__(self, digests: Sequence[str], *, spool_dir: Path | None, upto: int | None = None) -> None:
        self.digests = list(digests)
        self._history: dict[str, list[_Node]] = {}
        self._children: dict[str, set[str]] = {"/": set()}
        self._spool_dir = spool_dir
        self._upto = len(self.digests) - 1 if upto is None else upto
        self._files: list[str] | None = None
        self.warnings: list[str] = []
        self.changed: dict[int, set[str]] = {}  # layer index → paths of selected files it added or deleted

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
        targets = list(self._descendants(path))
        if not keep_self:
            targets.append(path)
        for target in targets:
            if self._visible(target, layer - 1) is not None:
                self._history[target].append(_Node(kind="whiteout", layer=layer))
                self.changed.setdefault(layer, set()).add(target)

    def _apply(self, layer: int, pending: _Pending) -> None:
        for directory in pending.opaque_dirs:
            self._delete(directory, layer, keep_self=True)
        for path in pending.whiteouts:
            self._delete(path, layer, keep_self=False)
        by_path = dict(pending.entries)
        for path, node in pending.entries:
            self._push(path, node)
        for path, target, mode in pending.hardlinks:
            source = by_path.get(target) or self._visible(target, layer)
            if source is None or source.kind != "file":
                self.warnings.append(f"layer {self.digests[layer]}: hardlink {path} → {target} has no file to share")
                continue
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
        view.warnings = self.warnings
        view.changed = self.changed
        return view

    @property
    def layer_count(self) -> int:
        return self._upto + 1

    def close(self) -> None:
        if self._spool_dir is not None:
            shutil.rmtree(self._spool_dir, ignore_errors=True)
            self._spool_dir = None

    def __enter__(self) -> LayeredFS:  # noqa: PYI034 -- views are LayeredFS too; Self is 3.11-only sugar
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- ImageFS ----------------------------------------------------------------------------------
    def _readlink(self, path: str) -> str | None:
        node = self._visible(path)
        return node.link if node is not None and node.kind == "symlink" else None

    def realpath(self, path: str) -> str:
        return resolve_inside_root(path, self._readlink)

    def _lookup(self, path: str) -> tuple[str, _Node | None]:
        try:
            real = self.realpath(path)
        except UnsafeArchiveError:
            return path, None
        return real, self._visible(real)

    def _has_visible_children(self, path: str) -> bool:
        return any(self._visible(f"{path.rstrip('/')}/{n}") is not None for n in self._children.get(path, ()))

    def exists(self, path: str) -> bool:
        real, node = self._lookup(path)
        return node is not None or real == "/" or self._has_visible_children(real)

    def is_dir(self, path: str) -> bool:
        real, node = self._lookup(path)
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
        if self._files is None:
            self._files = sorted(p for p in self._history if (n := self._visible(p)) is not None and n.kind == "file")
        return iter(self._files)

    def glob(self, patterns: Iterable[str]) -> Iterator[str]:
        compiled = PathPatterns(patterns)
        return (p for p in self.walk() if compiled.matches(p))

    def layer_of(self, path: str) -> str | None:
        _, node = self._lookup(path)
        return None if node is None else self.digests[node.layer]


def read_layers(
    layers: Sequence[LayerInput],
    *,
    selection: Selection,
    limits: LayerLimits | None = None,
    warn: Callable[[str], None] | None = None,
) -> LayeredFS:
    """Stream every layer once, in order; return the assembled filesystem (close it when done)."""
    limits = limits or LayerLimits()
    spool_dir = Path(tempfile.mkdtemp(prefix="wharfinger-layers-"))
    fs = LayeredFS([layer.digest for layer in layers], spool_dir=spool_dir)

    def note(message: str) -> None:
        fs.warnings.append(message)
        log.debug("%s", message, extra={"event": "inventory.layer.skipped"})
        if warn is not None:
            warn(message)

    selected = PathPatterns(selection.patterns)
    total_entries = 0
    total_bytes = 0
    spooled = 0
    try:
        for index, layer in enumerate(layers):
            pending = _Pending()
            stream = _LayerStream(layer, limits, total_bytes)
            entries = 0
            try:
                with _open_tar(stream, layer.digest) as tar:
                    for member in _members(tar, layer.digest):
                        entries += 1
                        total_entries += 1
                        if entries > limits.max_entries_per_layer or total_entries > limits.max_entries_total:
                            raise UnsafeArchiveError(
                                f"layer {layer.digest} has more than "
                                f"{min(limits.max_entries_per_layer, limits.max_entries_total)} entries",
                                hint="an entry flood; refusing the image",
                            )
                        spooled += _ingest(
                            tar,
                            member,
                            index=index,
                            digest=layer.digest,
                            pending=pending,
                            selected=selected,
                            selection=selection,
                            limits=limits,
                            spool_dir=spool_dir,
                            spooled=spooled,
                            warn=note,
                        )
            finally:
                stream.close()
            total_bytes += stream.uncompressed
            fs._apply(index, pending)  # noqa: SLF001 -- the builder owns the tree
            for path, _node in pending.entries:
                if selected.matches(path):
                    fs.changed.setdefault(index, set()).add(path)
            for path in pending.whiteouts:
                fs.changed.setdefault(index, set()).add(path)
    except BaseException:
        fs.close()
        raise
    return fs


def _open_tar(stream: _LayerStream, digest: str) -> tarfile.TarFile:
    try:
        return tarfile.open(fileobj=stream, mode="r|", errorlevel=1)
    except tarfile.TarError as exc:
        raise UnsafeArchiveError(
            f"layer {digest} is not a valid tar archive: {exc}", hint="the blob is corrupt or not a layer"
        ) from exc


def _members(tar: tarfile.TarFile, digest: str) -> Iterator[tarfile.TarInfo]:
    while True:
        try:
            member = tar.next()
        except tarfile.TarError as exc:
            raise UnsafeArchiveError(
                f"layer {digest} is not a valid tar archive: {exc}", hint="the blob is corrupt or not a layer"
            ) from exc
        if member is None:
            return
        tar.members = []  # type: ignore[attr-defined]  # stream mode keeps every member otherwise: a million entries would stay in memory
        yield member


def _ingest(
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    *,
    index: int,
    digest: str,
    pending: _Pending,
    selected: PathPatterns,
    selection: Selection,
    limits: LayerLimits,
    spool_dir: Path,
    spooled: int,
    warn: Callable[[str], None],
) -> int:
    """Record one tar entry; return the number of bytes spooled to disk for it."""
    path = _safe_member_path(member.name, limits, warn, digest)
    if path is None or path == "/":
        return 0
    directory, _, base = path.rpartition("/")
    directory = directory or "/"
    if base == ".wh..wh..opq":
        pending.opaque_dirs.append(directory)
        return 0
    if base.startswith(".wh."):
        pending.whiteouts.append(normalize_path(f"{directory}/{base[4:]}"))
        return 0
    if member.isdir():
        pending.entries.append((path, _Node(kind="dir", layer=index, mode=member.mode)))
        return 0
    if member.issym():
        pending.entries.append((path, _Node(kind="symlink", layer=index, mode=member.mode, link=member.linkname)))
        return 0
    if member.islnk():
        target = _safe_member_path(member.linkname, limits, warn, digest)
        if target is not None:
            pending.hardlinks.append((path, target, member.mode))
        return 0
    if not member.isreg():
        warn(f"layer {digest}: skipped {path}: device files and FIFOs are not inventoried")
        return 0
    node = _Node(kind="file", layer=index, mode=member.mode, size=member.size)
    pending.entries.append((path, node))
    wants = selected.matches(path)
    maybe_native = selection.native_executables and member.mode & 0o111 and member.size >= 4  # noqa: PLR2004
    if not (wants or maybe_native):
        return 0
    if member.size > limits.max_selected_file_bytes:
        warn(f"layer {digest}: skipped the content of {path}: {member.size} bytes is over the per-file limit")
        return 0
    source = tar.extractfile(member)
    if source is None:
        return 0
    if not wants:
        head = source.read(4)
        if not head.startswith(_NATIVE_MAGICS):
            return 0
    else:
        head = b""
    if member.size <= limits.max_memory_file_bytes:
        node.data = head + source.read()
        return 0
    if spooled + member.size > limits.max_spool_bytes:
        warn(f"layer {digest}: skipped the content of {path}: the spool limit of {limits.max_spool_bytes} bytes")
        return 0
    spool = spool_dir / f"{index}-{len(pending.entries)}"
    with spool.open("wb") as out:
        out.write(head)
        shutil.copyfileobj(source, out, _READ_CHUNK)
    node.spool = spool
    return member.size
