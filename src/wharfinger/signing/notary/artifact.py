"""The Notary Project signature as an OCI artifact (pure): its annotations and how to read one back.

A signature manifest has ``artifactType: application/vnd.cncf.notary.signature`` (or, on OCI 1.0
registries, that value as ``config.mediaType``), exactly one layer (the envelope, whose media type
says JWS or COSE), the signed image as ``subject`` and the annotation
``io.cncf.notary.x509chain.thumbprint#S256`` listing the SHA-256 of every chain certificate.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from wharfinger.oci.manifest import Descriptor, ImageManifest
from wharfinger.signing.notary.model import SIGNATURE_ARTIFACT_TYPE, THUMBPRINT_ANNOTATION, EnvelopeMediaType

__all__ = ["SignatureLayer", "signature_annotations", "signature_layer"]

MAX_ENVELOPE_BLOB_BYTES = 1024 * 1024  # bytes; the verifier refuses larger envelopes anyway


def signature_annotations(certificate_chain: Sequence[bytes]) -> dict[str, str]:
    """``io.cncf.notary.x509chain.thumbprint#S256``: a JSON list of lowercase hex SHA-256, leaf first."""
    prints = [hashlib.sha256(der).hexdigest() for der in certificate_chain]
    return {THUMBPRINT_ANNOTATION: json.dumps(prints, separators=(",", ":"))}


@dataclass(frozen=True, slots=True, kw_only=True)
class SignatureLayer:
    descriptor: Descriptor  # the envelope blob
    media_type: EnvelopeMediaType


def signature_layer(manifest: ImageManifest) -> SignatureLayer:
    """The envelope layer of a Notary signature manifest; ValueError explains why it is not one."""
    if manifest.effective_artifact_type != SIGNATURE_ARTIFACT_TYPE:
        raise ValueError(f"artifact type {manifest.effective_artifact_type!r} is not a Notary Project signature")
    if len(manifest.layers) != 1:
        raise ValueError(f"a Notary signature manifest has exactly one layer, this one has {len(manifest.layers)}")
    layer = manifest.layers[0]
    if layer.media_type not in {m.value for m in EnvelopeMediaType}:
        raise ValueError(f"signature layer media type {layer.media_type!r} is neither application/jose+json nor cose")
    if layer.size > MAX_ENVELOPE_BLOB_BYTES:
        raise ValueError(f"signature envelope of {layer.size} bytes exceeds the {MAX_ENVELOPE_BLOB_BYTES}-byte limit")
    return SignatureLayer(descriptor=layer, media_type=EnvelopeMediaType(layer.media_type))
