"""``LayerInput``: one layer as the OCI client hands it over (kept apart so a cache hit never loads the walker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

__all__ = ["LayerInput"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerInput:
    """One layer: its digest and a way to open the blob stream (``ImageSource.open_blob``)."""

    digest: str  # "sha256:…" of the compressed blob
    media_type: str  # a hint only: the stream's magic bytes decide how it is decompressed
    open: Callable[[], BinaryIO]  # the compressed blob; read_layers closes it
    size: int | None = None  # compressed bytes, when the manifest says
