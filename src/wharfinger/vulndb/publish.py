"""The database as an OCI artifact, for air-gapped sites: ``db push`` / ``db pull``.

Artifact layout (OCI image manifest v1.1 with ``artifactType``):

- ``artifactType``: ``application/vnd.wharfinger.vulndb.v1``
- config: the empty descriptor ``application/vnd.oci.empty.v1+json`` (``{}``)
- one layer: the SQLite file compressed with zstd, ``application/vnd.wharfinger.vulndb.layer.v1.sqlite+zstd``,
  annotated with the schema version and build time.

``pack_database`` and ``unpack_database`` are pure; ``push_database`` and ``pull_database`` move the bytes
with the one registry client (``wharfinger.oci.client.RegistryClient``, passed in). Given trusted keys,
``pull_database`` checks the cosign signature over the manifest digest (``vulndb.signature``) before it
downloads the layer; nothing replaces the installed file until every check has passed.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import zstandard

from wharfinger.errors import DatabaseError, DigestMismatchError, InputError
from wharfinger.oci.client import RegistryClient
from wharfinger.oci.progress import ByteProgress, counting_writer
from wharfinger.oci.reference import ImageRef
from wharfinger.vulndb.database import VulnDatabase
from wharfinger.vulndb.signature import verify_database

if TYPE_CHECKING:
    from wharfinger.signing.cosign.simplesigning import CosignKey

__all__ = [
    "ARTIFACT_TYPE",
    "LAYER_MEDIA_TYPE",
    "PackedDatabase",
    "PulledDatabase",
    "pack_database",
    "pull_database",
    "push_database",
    "unpack_database",
]

ARTIFACT_TYPE = "application/vnd.wharfinger.vulndb.v1"
LAYER_MEDIA_TYPE = "application/vnd.wharfinger.vulndb.layer.v1.sqlite+zstd"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
EMPTY_CONFIG = b"{}"
MAX_DATABASE_BYTES = 4 * 1024 * 1024 * 1024  # bytes, uncompressed: refuses decompression bombs
CHUNK_BYTES = 1024 * 1024  # bytes decompressed per step: a pull never holds the database in memory


@dataclass(frozen=True, slots=True, kw_only=True)
class PackedDatabase:
    manifest: bytes = field(repr=False)
    layer: bytes = field(repr=False)
    config: bytes = EMPTY_CONFIG

    @property
    def manifest_digest(self) -> str:
        return _digest(self.manifest)


@dataclass(frozen=True, slots=True, kw_only=True)
class PulledDatabase:
    digest: str  # the artifact's manifest digest
    signed_by: tuple[str, ...] = ()  # trusted keys whose signature verified; () when no key was given


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def pack_database(database: bytes, *, annotations: dict[str, str]) -> PackedDatabase:
    layer = zstandard.ZstdCompressor(level=10).compress(database)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "artifactType": ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": _digest(EMPTY_CONFIG), "size": len(EMPTY_CONFIG)},
        "layers": [
            {
                "mediaType": LAYER_MEDIA_TYPE,
                "digest": _digest(layer),
                "size": len(layer),
                "annotations": {"org.opencontainers.image.title": "vulndb.sqlite.zst", **annotations},
            }
        ],
        "annotations": annotations,
    }
    return PackedDatabase(manifest=json.dumps(manifest, sort_keys=True).encode(), layer=layer)


def _temporary_beside(path: Path, suffix: str) -> Path:
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(handle)
    return Path(name)


def layer_descriptor(manifest: bytes) -> tuple[str, int]:
    """The (digest, size) of the database layer a manifest points to; refuses anything else."""
    try:
        document = json.loads(manifest)
        (layer,) = [entry for entry in document["layers"] if entry.get("mediaType") == LAYER_MEDIA_TYPE]
        digest, size = str(layer["digest"]), int(layer["size"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(
            "the artifact is not a wharfinger vulnerability database",
            hint=f"push one with `wharfinger db push`; its artifactType is {ARTIFACT_TYPE}",
        ) from exc
    if document.get("artifactType") != ARTIFACT_TYPE:
        raise InputError(f"the artifact type is {document.get('artifactType')!r}, not {ARTIFACT_TYPE}")
    return digest, size


def unpack_database(manifest: bytes, layer: bytes) -> bytes:
    """Verify the layer against the manifest and decompress it, with a size limit."""
    digest, size = layer_descriptor(manifest)
    if len(layer) != size or _digest(layer) != digest:
        raise DigestMismatchError(f"the database layer does not match its digest {digest}")
    sink = io.BytesIO()
    _decompress_into(io.BytesIO(layer), sink)
    return sink.getvalue()


def _decompress_into(layer: BinaryIO, out: BinaryIO) -> None:
    """Stream-decompress ``layer`` into ``out``, stopping past 4 GiB (a decompression bomb)."""
    written = 0
    try:
        with zstandard.ZstdDecompressor().stream_reader(layer, closefd=False) as reader:
            while chunk := reader.read(CHUNK_BYTES):
                written += len(chunk)
                if written > MAX_DATABASE_BYTES:
                    raise DatabaseError(
                        "the database layer decompresses to more than 4 GiB", hint="this is not our database"
                    )
                out.write(chunk)
    except zstandard.ZstdError as exc:
        raise DatabaseError(f"the database layer does not decompress: {exc}", hint="push it again") from exc


def push_database(path: Path, reference: ImageRef, client: RegistryClient) -> str:
    """Push the database at ``path`` to ``reference`` (its tag, or by digest); returns the manifest digest."""
    with VulnDatabase.open(path) as database:  # refuse to publish a file we could not read ourselves
        meta = database.meta()
    packed = pack_database(
        path.read_bytes(),
        annotations={
            "org.opencontainers.image.created": meta["built_at"],
            "dev.wharfinger.vulndb.schema-version": meta["schema_version"],
        },
    )
    repository = reference.repository
    client.push_blob(repository, _digest(packed.config), len(packed.config), packed.config)
    client.push_blob(repository, _digest(packed.layer), len(packed.layer), packed.layer)
    return client.push_manifest(repository, packed.manifest, MANIFEST_MEDIA_TYPE, tag=reference.tag)


def pull_database(
    reference: ImageRef,
    path: Path,
    client: RegistryClient,
    *,
    keys: Sequence[CosignKey] = (),
    progress: ByteProgress | None = None,
) -> PulledDatabase:
    """Pull the database artifact at ``reference`` into ``path`` (atomically).

    The manifest is verified by the client against its digest; with ``keys``, one of them must have
    signed that digest (``VerificationError`` otherwise); the layer is checked against the manifest,
    and the result must open as a database of our schema before it replaces ``path``.
    """
    fetched = client.get_manifest(reference.repository, reference.digest or reference.tag or "latest")
    digest, size = layer_descriptor(fetched.data)
    signed_by: tuple[str, ...] = ()
    if keys:
        signed_by = verify_database(client, reference, fetched.digest, keys).signed_by
    if size > MAX_DATABASE_BYTES:
        raise DatabaseError(f"the database layer of {reference} is {size} bytes: too large to be ours")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique names next to the target: the rename stays atomic and concurrent pulls never share a file.
    compressed, temporary = (_temporary_beside(path, suffix) for suffix in (".layer.tmp", ".pull.tmp"))
    try:
        with compressed.open("w+b") as layer:
            if progress is not None:
                progress.start(size, 1)
            sink = layer if progress is None else counting_writer(layer, progress.advance)
            client.download_blob(reference.repository, digest, sink, size=size)  # checked against the digest
            layer.seek(0)
            with temporary.open("wb") as out:
                _decompress_into(layer, out)
        VulnDatabase.open(temporary).close()
        temporary.replace(path)
    finally:
        compressed.unlink(missing_ok=True)
        temporary.unlink(missing_ok=True)
    return PulledDatabase(digest=fetched.digest, signed_by=signed_by)
