"""The one interface every image source offers, and the resolution steps they share.

Resolving an image, whatever it comes from, is the same walk::

    top descriptor (a tag, a digest, the only image of an archive)
      → manifest bytes, checked against the digest and the size limit
      → an index? pick the platform (nested indexes followed up to ``max_index_depth``)
      → the image manifest → its config blob → ``ResolvedImage``

Sources differ only in how they find the top descriptor and read bytes by digest; those two
operations are what ``ContentReader`` asks of them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import BinaryIO, Protocol, runtime_checkable

from wharfinger.errors import ManifestError, PlatformNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import DigestVerifier
from wharfinger.oci.manifest import (
    ArtifactManifest,
    Descriptor,
    ImageConfig,
    ImageIndex,
    ImageManifest,
    Manifest,
    parse_config,
    parse_manifest,
    select_platform,
)
from wharfinger.oci.platform import Platform, host_platform
from wharfinger.oci.reference import ImageRef
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources.files import BlobLocation

__all__ = ["BlobLocator", "ContentReader", "ImageSource", "ResolvedImage", "read_manifest", "resolve_descriptor"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedImage:
    """One runnable image, found and checked: what `inspect`, `scan` and `verify` work from."""

    source: str  # how the user named it, e.g. "oci:/tmp/layout:1.0"
    ref: ImageRef | None  # the registry reference, or the name an archive records, if any
    top: Descriptor  # what the tag/reference points at (an index for multi-platform images)
    index: ImageIndex | None  # the index `top` points at, if it is one
    manifest: ImageManifest  # the platform's image manifest
    manifest_descriptor: Descriptor
    config: ImageConfig
    platform: Platform | None  # the platform chosen from the index, None for a single-manifest image

    @property
    def digest(self) -> str:
        """The image manifest's digest (the platform-specific image)."""
        return self.manifest.digest

    @property
    def layers(self) -> tuple[Descriptor, ...]:
        return self.manifest.layers

    @property
    def config_descriptor(self) -> Descriptor:
        return self.manifest.config


@runtime_checkable
class ImageSource(Protocol):
    """Where an image comes from: a registry, an OCI layout, an archive."""

    description: str

    def resolve(self, platform: Platform | None = None) -> ResolvedImage:
        """Find the image; ``platform`` picks from an index (``None``: this host's, or the only one)."""
        ...

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        """Stream a blob; reading it to EOF verifies digest and size (``DigestMismatchError``)."""
        ...

    def read_manifest(self, descriptor: Descriptor) -> Manifest:
        """Fetch and parse the manifest or index ``descriptor`` points to (verified)."""
        ...

    def referrers(self, digest: str, artifact_type: str | None = None) -> tuple[Descriptor, ...]:
        """Manifests whose ``subject`` is ``digest`` (signatures, SBOMs, attestations), as descriptors."""
        ...

    def close(self) -> None: ...


@runtime_checkable
class BlobLocator(Protocol):
    """An ``ImageSource`` that can say where a blob lies in a local file (a layout, an archive)."""

    def locate_blob(self, descriptor: Descriptor) -> BlobLocation | None:
        """Where ``descriptor``'s bytes lie, as stored; ``None`` when they do not lie in one run of a
        file or do not have the descriptor's size (``open_blob`` then says what is wrong). Only a
        hint for reading faster: the blob is verified by reading ``open_blob`` to EOF all the same."""
        ...


class ContentReader(Protocol):
    """What the shared resolution needs from a source: bytes by descriptor."""

    settings: Settings

    def open_blob(self, descriptor: Descriptor) -> BinaryIO: ...


def read_blob_bytes(reader: ContentReader, descriptor: Descriptor, *, max_bytes: int, what: str) -> bytes:
    """A small blob (manifest, config) read whole, refused before reading if it claims to be too big."""
    if descriptor.size > max_bytes:
        raise ManifestError(
            f"{what} {descriptor.digest} is {descriptor.size} bytes, larger than the {max_bytes}-byte limit",
            hint="raise the limit in Settings only if you trust the source",
        )
    with reader.open_blob(descriptor) as stream:
        return stream.read()


def read_manifest(reader: ContentReader, descriptor: Descriptor) -> Manifest:
    max_bytes = reader.settings.max_manifest_bytes
    if descriptor.size > max_bytes:
        raise ManifestError(
            f"manifest {descriptor.digest} is {descriptor.size} bytes, larger than the {max_bytes}-byte limit",
            hint="a real manifest is a few KiB; raise max_manifest_bytes only if you trust the source",
        )
    data = read_blob_bytes(reader, descriptor, max_bytes=max_bytes, what="manifest")
    return parse_manifest(data, descriptor.media_type, max_bytes=max_bytes)


def resolve_descriptor(
    reader: ContentReader,
    top: Descriptor,
    *,
    platform: Platform | None,
    source: str,
    ref: ImageRef | None = None,
) -> ResolvedImage:
    """The shared walk: descriptor → (index → platform →)* image manifest → config."""
    settings = reader.settings
    top_manifest = read_manifest(reader, top)
    top_index = top_manifest if isinstance(top_manifest, ImageIndex) else None
    current: Manifest = top_manifest
    current_descriptor = top
    chosen: Platform | None = None
    for _ in range(settings.max_index_depth + 1):
        if not isinstance(current, ImageIndex):
            break
        entry = _choose(current, platform)
        if entry.platform is not None:
            chosen = entry.platform
        current_descriptor = entry
        current = read_manifest(reader, entry)
    else:
        raise ManifestError(
            f"indexes nested deeper than {settings.max_index_depth} levels under {top.digest}",
            hint="the image is malformed or hostile",
        )
    if isinstance(current, ArtifactManifest) or not current.is_image:
        kind = current.effective_artifact_type
        raise ManifestError(
            f"{source} is an artifact ({kind}), not a runnable image",
            hint="inspect the image it refers to instead (see its subject)",
        )
    config_bytes = read_blob_bytes(reader, current.config, max_bytes=settings.max_config_bytes, what="image config")
    config = parse_config(config_bytes, max_bytes=settings.max_config_bytes)
    if chosen is not None and not config.platform.matches(chosen):
        log.debug("index platform and config disagree", extra={"index": str(chosen), "config": str(config.platform)})
    return ResolvedImage(
        source=source,
        ref=ref,
        top=top,
        index=top_index,
        manifest=current,
        manifest_descriptor=current_descriptor,
        config=config,
        platform=chosen,
    )


def _choose(index: ImageIndex, platform: Platform | None) -> Descriptor:
    """The entry for ``platform``; without one, this host's, else the only runnable entry."""
    nested = [d for d in index.manifests if d.platform is None and d.media_type in mt.INDEX_TYPES]
    if platform is not None:
        try:
            return select_platform(index, platform)
        except PlatformNotFoundError:
            if len(nested) == 1 and not index.platforms():
                return nested[0]
            raise
    host = host_platform()
    try:
        return select_platform(index, host)
    except PlatformNotFoundError as exc:
        runnable = index.runnable()
        if len(runnable) == 1:
            return runnable[0]
        if len(index.manifests) == 1:
            return index.manifests[0]
        raise PlatformNotFoundError(
            f"index {index.digest} has no image for this machine ({host}) and several for others",
            hint=exc.hint,
        ) from exc


def verifier_for(descriptor: Descriptor, what: str = "blob") -> DigestVerifier:
    return DigestVerifier(descriptor.digest, expected_size=descriptor.size, what=f"{what} {descriptor.digest}")
