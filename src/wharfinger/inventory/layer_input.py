"""``LayerInput``: one layer as the OCI client hands it over (kept apart so a cache hit never loads the walker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from wharfinger.oci.sources.files import BlobLocation

__all__ = ["LayerInput"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerInput:
    """One layer: its digest and a way to open the blob stream (``ImageSource.open_blob``)."""

    digest: str  # "sha256:…" of the compressed blob
    media_type: str  # a hint only: the stream's magic bytes decide how it is decompressed
    open: Callable[[], BinaryIO]  # the compressed blob; read_layers closes it
    size: int | None = None  # compressed bytes, when the manifest says
    # where the blob lies as stored in a local file (a layout, an archive): a plain tar there is
    # parsed by seeking over the contents it does not want, and hashed in place against `digest`
    location: BlobLocation | None = None
    progress: Callable[[int], None] | None = None  # told the bytes hashed in place (`open` counts its own)
