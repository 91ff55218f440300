"""cosign's key-based image signatures ("simple signing").

cosign signs a small JSON payload that names the image digest, and stores it as a layer
(``application/vnd.dev.cosign.simplesigning.v1+json``) of a manifest tagged
``sha256-<hex>.sig`` in the image's repository (or attached as an OCI 1.1 referrer), with the
base64 signature in the layer annotation ``dev.cosignproject.cosign/signature``. A manifest
may hold several signature layers (several signers); each is verified on its own.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from wharfinger.errors import ManifestError
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.manifest import Descriptor, ImageManifest, parse_manifest
from wharfinger.signing.keys.algorithms import cosign_algorithm, verify_raw
from wharfinger.signing.keys.signer import SignatureAlgorithm, Signer

__all__ = [
    "CosignKey",
    "CosignSignatureLayer",
    "FailureReason",
    "KeyVerification",
    "SimpleSigningPayload",
    "build_payload",
    "build_signature_layer",
    "parse_payload",
    "parse_signature_manifest",
    "signature_tag",
    "verify_layer_with_key",
]

SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
CHAIN_ANNOTATION = "dev.sigstore.cosign/chain"
BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle"
PAYLOAD_TYPE = "cosign container image signature"

MAX_PAYLOAD_BYTES = 128 * 1024  # bytes; cosign's own payloads are ~300 bytes
MAX_SIGNATURE_BYTES = 8 * 1024  # bytes, decoded; an RSA-8192 signature is 1 KiB
MAX_LAYERS = 256  # signature layers read from one manifest


class FailureReason(StrEnum):
    """Why one signature did not verify; stable values for JSON output and policy."""

    MALFORMED = "malformed"  # payload or signature cannot be parsed
    BAD_SIGNATURE = "bad-signature"  # the signature does not match the payload under this key
    DIGEST_MISMATCH = "digest-mismatch"  # the payload signs another image digest
    WRONG_TYPE = "wrong-type"  # not a cosign container image signature payload
    TOO_LARGE = "too-large"


@dataclass(frozen=True, slots=True, kw_only=True)
class SimpleSigningPayload:
    docker_reference: str
    manifest_digest: str
    type: str
    optional: Mapping[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CosignSignatureLayer:
    """One signature as stored: the payload bytes, the signature and the optional materials."""

    payload: bytes = field(repr=False)
    payload_digest: str
    signature: bytes = field(repr=False)  # decoded from base64
    certificate_pem: bytes | None = field(default=None, repr=False)
    chain_pem: bytes | None = field(default=None, repr=False)
    rekor_bundle: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CosignKey:
    name: str  # the trust root's name, shown in results ("alice")
    public_key: PublicKeyTypes

    @property
    def algorithm(self) -> SignatureAlgorithm:
        """What cosign signs with by default: SHA-256 on every curve, RSA with PKCS#1 v1.5."""
        return cosign_algorithm(self.public_key)

    @property
    def accepted_algorithms(self) -> tuple[SignatureAlgorithm, ...]:
        """The default, and the curve's own hash (``cosign sign --signing-algorithm ecdsa-sha2-384-nistp384``)."""
        key = self.public_key
        if isinstance(key, ec.EllipticCurvePublicKey):
            native = {"secp384r1": SignatureAlgorithm.ECDSA_SHA384, "secp521r1": SignatureAlgorithm.ECDSA_SHA512}
            if key.curve.name in native:
                return (SignatureAlgorithm.ECDSA_SHA256, native[key.curve.name])
        return (self.algorithm,)


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyVerification:
    verified: bool
    key_name: str | None = None
    reason: FailureReason | None = None
    message: str = ""
    payload: SimpleSigningPayload | None = None


def signature_tag(digest: str) -> str:
    """The tag cosign stores signatures under: ``sha256:abc…`` → ``sha256-abc….sig``."""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}-{hex_part}.sig"


def build_payload(docker_reference: str, manifest_digest: str, optional: Mapping[str, Any] | None = None) -> bytes:
    """The payload bytes cosign writes: Go's ``json.Marshal`` order and spacing."""
    document = {
        "critical": {
            "identity": {"docker-reference": docker_reference},
            "image": {"docker-manifest-digest": manifest_digest},
            "type": PAYLOAD_TYPE,
        },
        "optional": dict(optional) if optional else None,
    }
    return json.dumps(document, separators=(",", ":")).encode()


def parse_payload(data: bytes) -> SimpleSigningPayload:
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ManifestError(f"cosign payload of {len(data)} bytes exceeds the {MAX_PAYLOAD_BYTES}-byte limit")
    try:
        document = json.loads(data)
        critical = document["critical"]
        payload = SimpleSigningPayload(
            docker_reference=str(critical["identity"]["docker-reference"]),
            manifest_digest=str(critical["image"]["docker-manifest-digest"]),
            type=str(critical["type"]),
            optional=document.get("optional"),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(
            "cosign payload is not a simple-signing document",
            hint="the signature layer must hold {'critical': {'identity', 'image', 'type'}}",
        ) from exc
    return payload


def parse_signature_manifest(manifest_bytes: bytes, blobs: Mapping[str, bytes]) -> list[CosignSignatureLayer]:
    """The signature layers of a ``.sig`` manifest; ``blobs`` maps layer digests to their bytes.

    Blobs are checked against their digests here, so a swapped payload never reaches verification.
    """
    manifest = parse_manifest(manifest_bytes)
    if not isinstance(manifest, ImageManifest):
        raise ManifestError("a cosign signature must be an image manifest", hint="is this a .sig tag?")
    layers = [layer for layer in manifest.layers if layer.media_type == SIMPLE_SIGNING_MEDIA_TYPE]
    if len(layers) > MAX_LAYERS:
        raise ManifestError(f"cosign signature manifest has {len(layers)} signature layers (limit {MAX_LAYERS})")
    return [_layer(descriptor, blobs) for descriptor in layers]


def _layer(descriptor: Descriptor, blobs: Mapping[str, bytes]) -> CosignSignatureLayer:
    payload = blobs.get(descriptor.digest)
    if payload is None:
        raise ManifestError(f"the payload blob {descriptor.digest} of a cosign signature is missing")
    if sha256_digest(payload) != descriptor.digest:
        raise ManifestError(f"the payload blob does not match its digest {descriptor.digest}")
    encoded = descriptor.annotations.get(SIGNATURE_ANNOTATION, "")
    try:
        signature = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    annotations = descriptor.annotations
    return CosignSignatureLayer(
        payload=payload,
        payload_digest=descriptor.digest,
        signature=signature,
        certificate_pem=annotations[CERTIFICATE_ANNOTATION].encode() if CERTIFICATE_ANNOTATION in annotations else None,
        chain_pem=annotations[CHAIN_ANNOTATION].encode() if CHAIN_ANNOTATION in annotations else None,
        rekor_bundle=annotations[BUNDLE_ANNOTATION].encode() if BUNDLE_ANNOTATION in annotations else None,
    )


def verify_layer_with_key(layer: CosignSignatureLayer, image_digest: str, key: CosignKey) -> KeyVerification:
    """Does ``key`` sign this layer's payload, and does the payload name ``image_digest``?"""
    if not layer.signature:
        return KeyVerification(
            verified=False,
            key_name=key.name,
            reason=FailureReason.MALFORMED,
            message="the signature annotation is missing or not base64",
        )
    if len(layer.signature) > MAX_SIGNATURE_BYTES:
        return KeyVerification(
            verified=False,
            key_name=key.name,
            reason=FailureReason.TOO_LARGE,
            message=f"signature of {len(layer.signature)} bytes exceeds the limit",
        )
    if not any(verify_raw(key.public_key, a, layer.signature, layer.payload) for a in key.accepted_algorithms):
        return KeyVerification(
            verified=False,
            key_name=key.name,
            reason=FailureReason.BAD_SIGNATURE,
            message=f"the signature does not verify with key {key.name!r}",
        )
    try:
        payload = parse_payload(layer.payload)
    except ManifestError as exc:
        return KeyVerification(verified=False, key_name=key.name, reason=FailureReason.MALFORMED, message=exc.message)
    if payload.type != PAYLOAD_TYPE:
        return KeyVerification(
            verified=False,
            key_name=key.name,
            reason=FailureReason.WRONG_TYPE,
            message=f"payload type {payload.type!r} is not {PAYLOAD_TYPE!r}",
            payload=payload,
        )
    if payload.manifest_digest != image_digest:
        return KeyVerification(
            verified=False,
            key_name=key.name,
            reason=FailureReason.DIGEST_MISMATCH,
            payload=payload,
            message=f"the signature is for {payload.manifest_digest}, not for {image_digest}",
        )
    return KeyVerification(verified=True, key_name=key.name, payload=payload, message=f"signed by {key.name!r}")


def build_signature_layer(
    docker_reference: str, manifest_digest: str, signer: Signer, optional: Mapping[str, Any] | None = None
) -> tuple[bytes, Descriptor]:
    """Sign the payload for an image digest; return the payload blob and its layer descriptor."""
    payload = build_payload(docker_reference, manifest_digest, optional)
    signature = signer.sign(payload)
    descriptor = Descriptor(
        media_type=SIMPLE_SIGNING_MEDIA_TYPE,
        digest=sha256_digest(payload),
        size=len(payload),
        annotations={SIGNATURE_ANNOTATION: base64.b64encode(signature).decode()},
    )
    return payload, descriptor
