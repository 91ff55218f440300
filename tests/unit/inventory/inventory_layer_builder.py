"""Build layer tars in memory for tests: regular files, links, whiteouts and hostile entries."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass

from wharfinger.inventory.layer_input import LayerInput


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
    """A ``LayerIndexStore`` in memory: what was stored, by key."""

    def __init__(self) -> None:
        self.layers: dict[str, bytes] = {}

    def get_layer(self, key: str) -> bytes | None:
        return self.layers.get(key)

    def put_layer(self, key: str, value: bytes) -> None:
        self.layers[key] = value
