"""cosign signatures in a registry: the ``sha256-<hex>.sig`` manifest, read and appended to.

cosign keeps every signature of an image as a layer of one manifest under the signature tag,
so signing appends a layer (keeping other signers') and verifying reads them all. Each blob
is fetched by digest and checked before the pure verifier sees it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wharfinger.errors import ManifestError, RegistryNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.manifest import Descriptor, ImageManifest
from wharfinger.signing.cosign.simplesigning import (
    MAX_LAYERS,
    MAX_PAYLOAD_BYTES,
    SIMPLE_SIGNING_MEDIA_TYPE,
    CosignSignatureLayer,
    parse_signature_manifest,
    signature_tag,
)

if TYPE_CHECKING:
    from wharfinger.oci.client import RegistryClient

__all__ = ["SignatureManifest", "append_signature", "fetch_signatures"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureManifest:
    digest: str | None  # None: the image has no .sig manifest
    layers: tuple[CosignSignatureLayer, ...]


def fetch_signatures(client: RegistryClient, repository: str, image_digest: str) -> SignatureManifest:
    try:
        fetched = client.get_manifest(repository, signature_tag(image_digest))
    except RegistryNotFoundError:
        return SignatureManifest(digest=None, layers=())
    manifest = fetched.parse()
    if not isinstance(manifest, ImageManifest):
        raise ManifestError(f"{repository}:{signature_tag(image_digest)} is not an image manifest")
    signature_layers = [layer for layer in manifest.layers if layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE]
    if len(signature_layers) > MAX_LAYERS:
        raise ManifestError(
            f"{repository}:{signature_tag(image_digest)} has {len(signature_layers)} signatures (limit {MAX_LAYERS})"
        )
    blobs: dict[str, bytes] = {}
    for layer in signature_layers:
        if layer.size > MAX_PAYLOAD_BYTES:
            raise ManifestError(f"cosign payload {layer.digest} is {layer.size} bytes (limit {MAX_PAYLOAD_BYTES})")
        with client.open_blob(repository, layer.digest, size=layer.size) as stream:
            blobs[layer.digest] = stream.read(MAX_PAYLOAD_BYTES + 1)
    return SignatureManifest(digest=manifest.digest, layers=tuple(parse_signature_manifest(manifest.raw, blobs)))


def append_signature(
    client: RegistryClient, repository: str, image_digest: str, payload: bytes, layer: Descriptor
) -> Descriptor:
    """Add one signature layer to the image's ``.sig`` manifest (creating it); return the new manifest."""
    existing: list[Descriptor] = []
    try:
        current = client.get_manifest(repository, signature_tag(image_digest)).parse()
        if isinstance(current, ImageManifest):
            existing = [d for d in current.layers if d.digest != layer.digest or d.annotations != layer.annotations]
    except RegistryNotFoundError:
        pass
    layers = [*existing, layer]
    client.push_blob(repository, layer.digest, len(payload), payload)
    config = json.dumps(
        {
            "architecture": "",
            "os": "",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [d.digest for d in layers]},
        },
        separators=(",", ":"),
    ).encode()
    config_digest = sha256_digest(config)
    client.push_blob(repository, config_digest, len(config), config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": mt.OCI_MANIFEST,
            "config": {"mediaType": mt.OCI_CONFIG, "size": len(config), "digest": config_digest},
            "layers": [d.to_json() for d in layers],
        },
        separators=(",", ":"),
    ).encode()
    digest = client.push_manifest(repository, manifest, mt.OCI_MANIFEST, tag=signature_tag(image_digest))
    return Descriptor(media_type=mt.OCI_MANIFEST, digest=digest, size=len(manifest))
