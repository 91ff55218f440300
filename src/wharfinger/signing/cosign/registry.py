"""cosign signatures and attestations in a registry: the ``sha256-<hex>.sig`` / ``.att`` manifests.

cosign keeps every signature of an image as a layer of one manifest under the signature tag,
so signing appends a layer (keeping other signers') and verifying reads them all; attestations
(DSSE envelopes) live the same way under the ``.att`` tag. Each blob is fetched by digest and
checked before the pure verifier sees it.

cosign 2 can also write a signature as an OCI 1.1 referrer (``--registry-referrers-mode=oci-1-1``):
one manifest per signature, ``artifactType: application/vnd.dev.cosign.artifact.sig.v1+json``,
``subject`` = the image, the same simple-signing layer. ``fetch_signatures`` reads both places;
``attach_signature_referrer`` writes the referrer form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from wharfinger.errors import ManifestError, RegistryNotFoundError
from wharfinger.oci import mediatypes as mt
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.manifest import Descriptor, ImageManifest
from wharfinger.oci.referrers import attach_artifact, list_referrers
from wharfinger.signing.cosign.attestation import (
    DSSE_MEDIA_TYPE,
    MAX_ENVELOPE_BYTES,
    MAX_ENVELOPES,
    attestation_tag,
    parse_attestation_manifest,
)
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

__all__ = [
    "SIGNATURE_ARTIFACT_TYPE",
    "AttestationManifest",
    "SignatureManifest",
    "append_attestation",
    "append_signature",
    "attach_signature_referrer",
    "fetch_attestations",
    "fetch_signatures",
]


SIGNATURE_ARTIFACT_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"  # cosign's OCI 1.1 referrer


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureManifest:
    digest: str | None  # None: the image has no .sig manifest
    layers: tuple[CosignSignatureLayer, ...]  # the .sig tag's layers first, then the referrers'
    referrer_digests: tuple[str, ...] = ()  # signature referrers read (OCI 1.1 API or tag schema)


def fetch_signatures(client: RegistryClient, repository: str, image_digest: str) -> SignatureManifest:
    """Every cosign signature of the image: the ``.sig`` tag's layers and the signature referrers'."""
    tag = signature_tag(image_digest)
    tag_digest: str | None = None
    layers: list[CosignSignatureLayer] = []
    try:
        fetched = client.get_manifest(repository, tag)
    except RegistryNotFoundError:
        pass
    else:
        manifest = fetched.parse()
        if not isinstance(manifest, ImageManifest):
            raise ManifestError(f"{repository}:{tag} is not an image manifest")
        tag_digest = manifest.digest
        layers += _signature_layers(client, repository, manifest, f"{repository}:{tag}")
    referrer_digests: list[str] = []
    for descriptor in list_referrers(
        client, repository, image_digest, artifact_type=SIGNATURE_ARTIFACT_TYPE
    ).descriptors:
        referrer = client.get_manifest(repository, descriptor.digest).parse()
        # a referrers list (the tag schema's especially) is only an index: the manifest itself must name the image
        if (
            not isinstance(referrer, ImageManifest)
            or referrer.subject is None
            or referrer.subject.digest != image_digest
        ):
            continue
        layers += _signature_layers(client, repository, referrer, f"{repository}@{referrer.digest}")
        referrer_digests.append(referrer.digest)
        if len(layers) > MAX_LAYERS:
            raise ManifestError(f"{repository} has more than {MAX_LAYERS} cosign signatures for {image_digest}")
    return SignatureManifest(digest=tag_digest, layers=tuple(layers), referrer_digests=tuple(referrer_digests))


def _signature_layers(
    client: RegistryClient, repository: str, manifest: ImageManifest, where: str
) -> list[CosignSignatureLayer]:
    signature_layers = [layer for layer in manifest.layers if layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE]
    if len(signature_layers) > MAX_LAYERS:
        raise ManifestError(f"{where} has {len(signature_layers)} signatures (limit {MAX_LAYERS})")
    blobs = {
        layer.digest: client.fetch_blob(repository, layer.digest, size=layer.size, max_bytes=MAX_PAYLOAD_BYTES)
        for layer in signature_layers
    }
    return parse_signature_manifest(manifest.raw, blobs)


def attach_signature_referrer(
    client: RegistryClient, repository: str, subject: Descriptor, payload: bytes, layer: Descriptor
) -> Descriptor:
    """Push one signature as an OCI 1.1 referrer of ``subject``, as cosign's ``oci-1-1`` mode does."""
    return attach_artifact(
        client,
        repository,
        subject,
        SIGNATURE_ARTIFACT_TYPE,
        [(layer.media_type, payload)],
        layer_annotations=[layer.annotations],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationManifest:
    digest: str | None  # None: the image has no .att manifest
    envelopes: tuple[bytes, ...]  # DSSE envelopes, each checked against its layer digest


def fetch_attestations(client: RegistryClient, repository: str, image_digest: str) -> AttestationManifest:
    tag = attestation_tag(image_digest)
    try:
        fetched = client.get_manifest(repository, tag)
    except RegistryNotFoundError:
        return AttestationManifest(digest=None, envelopes=())
    manifest = fetched.parse()
    if not isinstance(manifest, ImageManifest):
        raise ManifestError(f"{repository}:{tag} is not an image manifest")
    layers = [layer for layer in manifest.layers if layer.media_type == DSSE_MEDIA_TYPE]
    if len(layers) > MAX_ENVELOPES:
        raise ManifestError(f"{repository}:{tag} has {len(layers)} attestations (limit {MAX_ENVELOPES})")
    blobs = {
        layer.digest: client.fetch_blob(repository, layer.digest, size=layer.size, max_bytes=MAX_ENVELOPE_BYTES)
        for layer in layers
    }
    return AttestationManifest(digest=manifest.digest, envelopes=tuple(parse_attestation_manifest(manifest.raw, blobs)))


def append_attestation(
    client: RegistryClient, repository: str, image_digest: str, envelope: bytes, layer: Descriptor
) -> Descriptor:
    """Add one DSSE envelope layer to the image's ``.att`` manifest (creating it); return the new manifest.

    ``envelope`` and ``layer`` are what ``attestation.build_dsse_attestation`` returns.
    """
    return _append_layer(client, repository, attestation_tag(image_digest), envelope, layer)


def append_signature(
    client: RegistryClient, repository: str, image_digest: str, payload: bytes, layer: Descriptor
) -> Descriptor:
    """Add one signature layer to the image's ``.sig`` manifest (creating it); return the new manifest."""
    return _append_layer(client, repository, signature_tag(image_digest), payload, layer)


def _append_layer(client: RegistryClient, repository: str, tag: str, blob: bytes, layer: Descriptor) -> Descriptor:
    """Push ``blob`` and a manifest under ``tag`` holding the existing layers plus ``layer`` (same one: replaced)."""
    existing: list[Descriptor] = []
    try:
        current = client.get_manifest(repository, tag).parse()
        if isinstance(current, ImageManifest):
            existing = [d for d in current.layers if d.digest != layer.digest or d.annotations != layer.annotations]
    except RegistryNotFoundError:
        pass
    layers = [*existing, layer]
    client.push_blob(repository, layer.digest, len(blob), blob)
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
    digest = client.push_manifest(repository, manifest, mt.OCI_MANIFEST, tag=tag)
    return Descriptor(media_type=mt.OCI_MANIFEST, digest=digest, size=len(manifest))
