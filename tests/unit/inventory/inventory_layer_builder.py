"""Build layer tars in memory for tests: regular files, links, whiteouts and hostile entries."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import tarfile
import tempfile
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from wharfinger.inventory.layer_input import LayerInput
from wharfinger.oci.sources.base import BlobLocation


@dataclass(frozen=True)
class Entry:
    name: str
    data: bytes = b""
    kind: bytes = tarfile.REGTYPE
    link: str = ""
    mode: int = 0o644


def build_tar(entries: list[Entry]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.mode = entry.mode
            info.linkname = entry.link
            if entry.kind == tarfile.REGTYPE:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def layer(blob: bytes, media_type: str = "application/vnd.oci.image.layer.v1.tar+gzip") -> LayerInput:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    return LayerInput(digest=digest, media_type=media_type, open=lambda: io.BytesIO(blob), size=len(blob))


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


class MemoryStore:
    """A ``LayerIndexStore`` in memory: what was stored, by key (its large contents copied to a
    temporary directory of its own)."""

    def __init__(self) -> None:
        self.layers: dict[str, bytes] = {}
        self._directory = Path(tempfile.mkdtemp(prefix="memory-store-"))
        weakref.finalize(self, shutil.rmtree, self._directory, ignore_errors=True)

    def get_layer(self, key: str) -> bytes | None:
        return self.layers.get(key)

    def put_layer(self, key: str, value: bytes, files: Sequence[Path] = ()) -> None:
        for number, path in enumerate(files):
            self.layer_files(key).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.layer_files(key) / str(number))
        self.layers[key] = value

    def layer_files(self, key: str) -> Path:
        return self._directory / hashlib.sha256(key.encode()).hexdigest()


def _refuse() -> BinaryIO:
    raise AssertionError("a plain tar with a location is read in place, not through open()")


def in_place_layer(
    blob: bytes, directory: Path, *, digest_of: bytes | None = None, opener: Callable[[], BinaryIO] = _refuse
) -> LayerInput:
    """``blob`` stored at an odd offset of a file, with bytes after it; its digest is that of ``digest_of``."""
    digest = "sha256:" + hashlib.sha256(blob if digest_of is None else digest_of).hexdigest()
    path = directory / f"{digest[7:19]}.archive"
    head = b"h" * 1536 + b"odd"
    path.write_bytes(head + blob + b"t" * 4096)
    return LayerInput(
        digest=digest,
        media_type="application/vnd.docker.image.rootfs.diff.tar",
        open=opener,
        size=len(blob),
        location=BlobLocation(path=path, offset=len(head), size=len(blob)),
    )


def stored_layers(tars: list[list[Entry]] | list[bytes], stored: str, directory: Path) -> list[LayerInput]:
    """Each layer (entries, or a tar already built) as ``stored``: gzip-compressed and ``"streamed"``,
    or a plain tar read ``"in place"`` from a file in ``directory``."""
    blobs = [t if isinstance(t, bytes) else build_tar(t) for t in tars]
    return [layer(gz(b)) if stored == "streamed" else in_place_layer(b, directory) for b in blobs]
