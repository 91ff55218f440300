"""In-toto attestations in DSSE envelopes: SLSA provenance, SBOMs, vulnerability scans.

An attestation is an in-toto Statement (subjects by digest, a ``predicateType``, a
``predicate``) signed as a DSSE envelope. cosign stores envelopes as layers
(``application/vnd.dsse.envelope.v1+json``) of the ``sha256-<hex>.att`` manifest; Sigstore
bundles carry one envelope each. Verification checks the signature over DSSE's
pre-authentication encoding, then that the statement is about the image digest being
admitted, and only then hands the predicate to policy.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from wharfinger.errors import ManifestError
from wharfinger.oci.digest import sha256_digest
from wharfinger.oci.manifest import Descriptor, ImageManifest, parse_manifest
from wharfinger.signing.cosign.simplesigning import CosignKey
from wharfinger.signing.keys.algorithms import verify_raw
from wharfinger.signing.keys.signer import Signer

__all__ = [
    "DSSE_MEDIA_TYPE",
    "INTOTO_PAYLOAD_TYPE",
    "SLSA_PROVENANCE_V1",
    "VULN_PREDICATE_V1",
    "AttestationVerification",
    "Statement",
    "attestation_tag",
    "build_dsse_attestation",
    "pae",
    "parse_attestation_manifest",
    "parse_statement",
    "verify_dsse_with_keys",
]

DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPES = ("https://in-toto.io/Statement/v0.1", "https://in-toto.io/Statement/v1")
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
SLSA_PROVENANCE_V02 = "https://slsa.dev/provenance/v0.2"
CYCLONEDX_PREDICATE = "https://cyclonedx.org/bom"
VULN_PREDICATE_V1 = "https://cosign.sigstore.dev/attestation/vuln/v1"
PREDICATE_TYPE_ANNOTATION = "predicateType"

MAX_ENVELOPE_BYTES = 16 * 1024 * 1024  # bytes; SBOM attestations can be large
MAX_ENVELOPES = 256  # attestation layers read from one manifest


@dataclass(frozen=True, slots=True, kw_only=True)
class Statement:
    predicate_type: str
    subject_digests: tuple[str, ...]  # "sha256:<hex>" for each subject
    predicate: Mapping[str, Any] = field(hash=False)  # read-only view of the predicate JSON


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationVerification:
    verified: bool
    reason: str
    signer: str | None = None  # key name or certificate identity
    statement: Statement | None = None


def attestation_tag(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}-{hex_part}.att"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def parse_statement(payload: bytes) -> Statement:
    try:
        document = json.loads(payload)
        if document.get("_type") not in STATEMENT_TYPES:
            raise ManifestError(f"not an in-toto statement (_type {document.get('_type')!r})")
        digests = tuple(
            f"{algorithm}:{value}" for subject in document["subject"] for algorithm, value in subject["digest"].items()
        )
        predicate = document.get("predicate") or {}
        if not isinstance(predicate, dict):
            raise ManifestError("the statement's predicate is not a JSON object")
        return Statement(
            predicate_type=str(document["predicateType"]), subject_digests=digests, predicate=_freeze(predicate)
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ManifestError("malformed in-toto statement", hint="expected _type, subject[], predicateType") from exc


def _decode_envelope(envelope: bytes) -> tuple[str, bytes, list[bytes]]:
    if len(envelope) > MAX_ENVELOPE_BYTES:
        raise ManifestError(f"DSSE envelope of {len(envelope)} bytes exceeds {MAX_ENVELOPE_BYTES}")
    try:
        document = json.loads(envelope)
        payload_type = str(document["payloadType"])
        payload = base64.b64decode(document["payload"], validate=True)
        signatures = [base64.b64decode(s["sig"], validate=True) for s in document["signatures"]]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ManifestError("malformed DSSE envelope", hint="expected payloadType, payload, signatures[]") from exc
    return payload_type, payload, signatures


def verify_dsse_with_keys(envelope: bytes, image_digest: str, keys: Sequence[CosignKey]) -> AttestationVerification:
    """Verify an envelope against trusted keys and check it is about ``image_digest``."""
    try:
        payload_type, payload, signatures = _decode_envelope(envelope)
    except ManifestError as exc:
        return AttestationVerification(verified=False, reason=exc.message)
    if payload_type != INTOTO_PAYLOAD_TYPE:
        return AttestationVerification(verified=False, reason=f"payload type {payload_type!r} is not in-toto")
    message = pae(payload_type, payload)
    signer = next(
        (key.name for key in keys for sig in signatures if verify_raw(key.public_key, key.algorithm, sig, message)),
        None,
    )
    if signer is None:
        return AttestationVerification(
            verified=False, reason="no signature on the attestation verifies with a trusted key"
        )
    return check_statement(payload, image_digest, signer)


def check_statement(payload: bytes, image_digest: str, signer: str | None) -> AttestationVerification:
    """The statement of an already-verified envelope: is it about this image?"""
    try:
        statement = parse_statement(payload)
    except ManifestError as exc:
        return AttestationVerification(verified=False, reason=exc.message, signer=signer)
    if image_digest not in statement.subject_digests:
        return AttestationVerification(
            verified=False,
            signer=signer,
            statement=statement,
            reason=f"the attestation is about {', '.join(statement.subject_digests) or 'nothing'}, not {image_digest}",
        )
    return AttestationVerification(
        verified=True, signer=signer, statement=statement, reason=f"{statement.predicate_type} attested by {signer}"
    )


def parse_attestation_manifest(manifest_bytes: bytes, blobs: Mapping[str, bytes]) -> list[bytes]:
    """The DSSE envelopes of a ``.att`` manifest; blobs are checked against their digests."""
    manifest = parse_manifest(manifest_bytes)
    if not isinstance(manifest, ImageManifest):
        raise ManifestError("a cosign attestation must be an image manifest", hint="is this a .att tag?")
    layers = [layer for layer in manifest.layers if layer.media_type == DSSE_MEDIA_TYPE]
    if len(layers) > MAX_ENVELOPES:
        raise ManifestError(f"attestation manifest has {len(layers)} envelopes (limit {MAX_ENVELOPES})")
    envelopes = []
    for layer in layers:
        blob = blobs.get(layer.digest)
        if blob is None or sha256_digest(blob) != layer.digest:
            raise ManifestError(f"the attestation blob {layer.digest} is missing or does not match its digest")
        envelopes.append(blob)
    return envelopes


def build_dsse_attestation(
    image_name: str, image_digest: str, predicate_type: str, predicate: Mapping[str, Any], signer: Signer
) -> tuple[bytes, Descriptor]:
    """Sign an in-toto v1 statement about one image; return the envelope blob and its layer descriptor."""
    algorithm, _, value = image_digest.partition(":")
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": image_name, "digest": {algorithm: value}}],
        "predicateType": predicate_type,
        "predicate": dict(predicate),
    }
    payload = json.dumps(statement, separators=(",", ":"), sort_keys=True).encode()
    signature = signer.sign(pae(INTOTO_PAYLOAD_TYPE, payload))
    envelope = json.dumps(
        {
            "payloadType": INTOTO_PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
        },
        separators=(",", ":"),
    ).encode()
    descriptor = Descriptor(
        media_type=DSSE_MEDIA_TYPE,
        digest=sha256_digest(envelope),
        size=len(envelope),
        annotations={PREDICATE_TYPE_ANNOTATION: predicate_type},
    )
    return envelope, descriptor
