"""The registry as an ``ImageSource`` (edge): what ``open_source`` returns for a bare reference.

Resolving walks the same steps as every source (``sources.base.resolve_descriptor``): the tag or
digest is fetched from the registry (verified), an index picks the platform, then the image manifest
and config. Manifests come from ``/manifests/<digest>``, everything else from ``/blobs/<digest>``.
With a ``BlobCache`` every blob is written into the cache once as it streams to its reader (verified,
never whole in memory) and read from there next time; ``prefetch`` fills it for many layers in parallel.
Referrers come from ``wharfinger.oci.referrers`` (API, else the tag schema).
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import BinaryIO

import httpx

from wharfinger.oci import mediatypes as mt
from wharfinger.oci.auth import CredentialProvider
from wharfinger.oci.cache import BlobCache, BlobWriter
from wharfinger.oci.client import RegistryClient, connect
from wharfinger.oci.manifest import Descriptor, Manifest
from wharfinger.oci.platform import Platform
from wharfinger.oci.reference import ImageRef
from wharfinger.oci.settings import Settings
from wharfinger.oci.sources.base import ResolvedImage, read_manifest, resolve_descriptor

__all__ = ["RegistrySource", "open_registry_source"]

log = logging.getLogger(__name__)

_MANIFEST_MEDIA_TYPES = mt.MANIFEST_TYPES | mt.INDEX_TYPES
_COPY_CHUNK = 1 << 20  # bytes read from the registry per step


def open_registry_source(
    ref: ImageRef,
    *,
    settings: Settings,
    cache: BlobCache | None = None,
    credentials: CredentialProvider | None = None,
    transport: httpx.BaseTransport | None = None,
    env: Mapping[str, str] | None = None,
) -> RegistrySource:
    """A source for ``ref``; credentials default to the environment and docker's config.json."""
    client = connect(ref.api_host, settings=settings, credentials=credentials, transport=transport, env=env)
    return RegistrySource(ref, client=client, settings=settings, cache=cache)


class _Abandoned(Exception):  # noqa: N818 -- thrown into the cache writer to discard a partial blob
    pass


class _CachingStream(io.RawIOBase):
    """A blob stream whose bytes are also written into the blob cache, published at its end.

    The cache writer's verifier checks every chunk against the declared size before the reader
    gets it, and size and digest when the last byte has been read (``DigestMismatchError`` from
    that read), so a long, short or altered body is refused and never lands in the cache. A reader
    that stops early (an error, a refused layer) leaves no cache entry behind.
    """

    def __init__(self, stream: BinaryIO, writer: AbstractContextManager[BlobWriter]) -> None:
        super().__init__()
        self._stream = stream
        self._writer_context: AbstractContextManager[BlobWriter] | None = writer
        self._writer = writer.__enter__()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # io types it as WriteableBuffer
        count = self._stream.readinto(buffer)  # type: ignore[attr-defined]  # a BufferedReader
        if count:
            self._writer.write(buffer[:count])
        elif self._writer_context is not None:
            context, self._writer_context = self._writer_context, None
            context.__exit__(None, None, None)  # verified, then renamed into place
        return int(count or 0)

    def close(self) -> None:
        if self._writer_context is not None:
            context, self._writer_context = self._writer_context, None
            with contextlib.suppress(_Abandoned):
                context.__exit__(_Abandoned, _Abandoned(), None)  # the temporary file is removed
        self._stream.close()
        super().close()


class RegistrySource:
    """An image in a registry. Thread-safe for ``open_blob``/``prefetch``; close it when done."""

    def __init__(
        self, ref: ImageRef, *, client: RegistryClient, settings: Settings, cache: BlobCache | None = None
    ) -> None:
        self.ref = ref
        self.client = client
        self.settings = settings
        self.cache = cache
        self.description = str(ref)
        # the manifest ``resolve`` fetched by tag, by its digest: reading it again (``resolve_descriptor``
        # asks for the top manifest by digest) costs no second round trip
        self._fetched: dict[str, bytes] = {}

    @property
    def repository(self) -> str:
        return self.ref.repository

    def resolve(self, platform: Platform | None = None) -> ResolvedImage:
        fetched = self.client.get_manifest(self.repository, self.ref.identifier)
        self._fetched[fetched.digest] = fetched.data  # the digest of these very bytes
        if self.cache is not None:
            self.cache.put_bytes(fetched.digest, fetched.data)
        top = fetched.descriptor()
        return resolve_descriptor(self, top, platform=platform, source=self.description, ref=self.ref)

    def read_manifest(self, descriptor: Descriptor) -> Manifest:
        return read_manifest(self, descriptor)

    def open_blob(self, descriptor: Descriptor) -> BinaryIO:
        if (served := self._fetched.get(descriptor.digest)) is not None and len(served) == descriptor.size:
            return io.BytesIO(served)
        if self.cache is not None:
            cached = self.cache.open(descriptor.digest)
            if cached is not None:
                return cached
        if descriptor.media_type in _MANIFEST_MEDIA_TYPES:
            fetched = self.client.get_manifest(self.repository, descriptor.digest)  # verified by digest
            if self.cache is not None:
                self.cache.put_bytes(fetched.digest, fetched.data)
            return io.BytesIO(fetched.data)
        # with a cache, its writer checks size (as the bytes arrive) and digest (at the end): hash once
        stream = self.client.blob_stream(
            self.repository, descriptor.digest, size=descriptor.size, verify=self.cache is None
        )
        if self.cache is None:
            return stream
        # the reader gets the bytes as they arrive (inflating overlaps the download) and the cache a copy
        caching = _CachingStream(stream, self.cache.writer(descriptor.digest, expected_size=descriptor.size))
        return io.BufferedReader(caching, buffer_size=_COPY_CHUNK)

    def _download_into_cache(self, descriptor: Descriptor) -> None:
        assert self.cache is not None  # noqa: S101 -- callers check
        if self.cache.contains(descriptor.digest):
            return
        with self.cache.writer(descriptor.digest, expected_size=descriptor.size) as out:
            # The cache writer verifies digest and size itself: hash the bytes once.
            self.client.download_blob(self.repository, descriptor.digest, out, size=descriptor.size, verify=False)

    def prefetch(self, descriptors: Iterable[Descriptor]) -> None:
        """Download blobs into the cache, ``parallel_downloads`` at a time (no-op without a cache)."""
        if self.cache is None:
            return
        wanted = [d for d in descriptors if not self.cache.contains(d.digest)]
        workers = max(1, min(self.settings.parallel_downloads, len(wanted)))
        with ThreadPoolExecutor(workers, thread_name_prefix="wharfinger-pull") as pool:
            for future in [pool.submit(self._download_into_cache, d) for d in wanted]:
                future.result()

    def referrers(self, digest: str, artifact_type: str | None = None) -> tuple[Descriptor, ...]:
        # ~1 ms of imports that pulling an image (every `sbom` and `scan`) does not need
        from wharfinger.oci.referrers import list_referrers  # noqa: PLC0415

        found = list_referrers(self.client, self.repository, digest, artifact_type=artifact_type)
        if found.truncated:
            log.warning(
                "referrers truncated",
                extra={"event": "oci.referrers.truncated", "subject": digest, "kept": len(found.descriptors)},
            )
        return found.descriptors

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RegistrySource:  # noqa: PYI034 -- not subclassed
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
