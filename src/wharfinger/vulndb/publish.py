"""The database as an OCI artifact, for air-gapped sites: ``db push`` / ``db pull``.

Artifact layout (OCI image manifest v1.1 with ``artifactType``):

- ``artifactType``: ``application/vnd.wharfinger.vulndb.v1``
- config: the empty descriptor ``application/vnd.oci.empty.v1+json`` (``{}``)
- one layer: the SQLite file compressed with zstd, ``application/vnd.wharfinger.vulndb.layer.v1.sqlite+zstd``,
  annotated with the schema version and build time.

``pack_database`` and ``unpack_database`` are pure; ``push_database`` and ``pull_database`` move the bytes
with the one registry client (``wharfinger.oci.client``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

from wharfinger.errors import DatabaseError, DigestMismatchError, InputError

__all__ = [
    "ARTIFACT_TYPE",
    "LAYER_MEDIA_TYPE",
    "PackedDatabase",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class PackedDatabase:
    manifest: bytes = field(repr=False)
    layer: bytes = field(repr=False)
    config: bytes = EMPTY_CONFIG

    @property
    def manifest_digest(self) -> str:
        return _digest(self.manifest)


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
    try:
        reader = zstandard.ZstdDecompressor().stream_reader(layer)
        data = reader.read(MAX_DATABASE_BYTES + 1)
    except zstandard.ZstdError as exc:
        raise DatabaseError(f"the database layer does not decompress: {exc}", hint="push it again") from exc
    if len(data) > MAX_DATABASE_BYTES:
        raise DatabaseError("the database layer decompresses to more than 4 GiB", hint="this is not our database")
    return data


def push_database(path: Path, reference: str) -> str:
    """Push ``path`` to ``reference``; returns the manifest digest."""
    raise InputError(
        f"cannot push {path} to {reference}: the registry client is not wired in yet",
        hint="copy the database file instead; `wharfinger db push` arrives with the oci-registry client",
    )


def pull_database(reference: str, path: Path) -> str:
    """Pull the database artifact at ``reference`` into ``path``; returns the manifest digest."""
    raise InputError(
        f"cannot pull {reference} to {path}: the registry client is not wired in yet",
        hint="copy the database file instead; `wharfinger db pull` arrives with the oci-registry client",
    )
