"""cosign keyless signatures in the legacy ``.sig`` form: Fulcio certificate + Rekor bundle.

Before Sigstore bundles, ``cosign sign`` (keyless) stored, beside the signature annotation, the
Fulcio leaf certificate, its chain, and the Rekor "bundle" (the log entry and its Signed Entry
Timestamp). Verifying one offline means, in order:

1. the leaf chains to a trusted Fulcio root and is a code-signing certificate;
2. the leaf's key signs the payload;
3. a trusted Rekor key signs the entry (the SET over the canonical JSON of the entry);
4. the entry is about this signature: its body names the payload hash, the signature and the leaf;
5. the leaf was valid when the entry was logged (Fulcio certificates live ten minutes);
6. the leaf names a trusted identity and issuer;
7. the payload names the image digest being admitted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from wharfinger.errors import ManifestError
from wharfinger.signing.cosign.bundle import IdentityPolicy, certificate_identities, certificate_issuer
from wharfinger.signing.cosign.certs import InvalidCertificateError, check_chain
from wharfinger.signing.cosign.simplesigning import PAYLOAD_TYPE, CosignSignatureLayer, parse_payload
from wharfinger.signing.cosign.tlog import LogSignatureCheck, ProofError, verify_inclusion_promise
from wharfinger.signing.keys.algorithms import SignatureFormat, signing_algorithm, verify_raw
from wharfinger.signing.keys.signer import SignatureAlgorithm

__all__ = ["KeylessTrust", "KeylessVerification", "verify_keyless_layer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeylessTrust:
    fulcio_roots: tuple[x509.Certificate, ...]
    rekor_keys: tuple[PublicKeyTypes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeylessVerification:
    verified: bool
    reason: str
    identity: tuple[str, ...] = ()
    issuer: str | None = None
    integrated_time: datetime | None = None


def verify_keyless_layer(
    layer: CosignSignatureLayer, image_digest: str, trust: KeylessTrust, identity: IdentityPolicy
) -> KeylessVerification:
    try:
        return _verify(layer, image_digest, trust, identity)
    except _Refused as refused:
        return KeylessVerification(
            verified=False, reason=str(refused), identity=refused.identity, issuer=refused.issuer
        )


class _Refused(Exception):  # noqa: N818 -- internal control flow, never escapes this module
    def __init__(self, reason: str, identity: tuple[str, ...] = (), issuer: str | None = None) -> None:
        super().__init__(reason)
        self.identity = identity
        self.issuer = issuer


def _verify(
    layer: CosignSignatureLayer, image_digest: str, trust: KeylessTrust, identity: IdentityPolicy
) -> KeylessVerification:
    if layer.certificate_pem is None:
        raise _Refused("no certificate: this is not a keyless signature (verify it with a key)")
    if layer.rekor_bundle is None:
        raise _Refused("no transparency-log bundle: the signing time cannot be established offline")
    try:
        leaf = x509.load_pem_x509_certificate(layer.certificate_pem)
        intermediates = x509.load_pem_x509_certificates(layer.chain_pem) if layer.chain_pem else []
    except ValueError as exc:
        raise _Refused(f"malformed certificate: {exc}") from exc
    sans, issuer = certificate_identities(leaf), certificate_issuer(leaf)

    _check_chain(leaf, intermediates, trust.fulcio_roots, sans, issuer)
    algorithm = _algorithm(leaf)
    if not verify_raw(leaf.public_key(), algorithm, layer.signature, layer.payload):
        raise _Refused("the signature does not verify with the certificate's key (tampered payload?)", sans, issuer)
    entry = _check_set(layer.rekor_bundle, trust.rekor_keys, sans, issuer)
    _check_entry_body(entry, layer, leaf, sans, issuer)
    integrated = datetime.fromtimestamp(int(entry["integratedTime"]), UTC)
    if not (leaf.not_valid_before_utc <= integrated <= leaf.not_valid_after_utc):
        raise _Refused(
            f"the certificate was not valid when the signature was logged ({integrated:%Y-%m-%dT%H:%M:%SZ})",
            sans,
            issuer,
        )
    problem = identity.check(leaf)
    if problem is not None:
        raise _Refused(problem, sans, issuer)
    try:
        payload = parse_payload(layer.payload)
    except ManifestError as exc:
        raise _Refused(exc.message, sans, issuer) from exc
    if payload.type != PAYLOAD_TYPE:
        raise _Refused(f"payload type {payload.type!r} is not {PAYLOAD_TYPE!r}", sans, issuer)
    if payload.manifest_digest != image_digest:
        raise _Refused(f"the signature is for {payload.manifest_digest}, not for {image_digest}", sans, issuer)
    return KeylessVerification(
        verified=True,
        reason=f"signed by {', '.join(sans)} ({issuer})",
        identity=sans,
        issuer=issuer,
        integrated_time=integrated,
    )


def _algorithm(leaf: x509.Certificate) -> SignatureAlgorithm:
    # cosign hashes with SHA-256 whatever the curve, and signs RSA (>= 2048 bits) with PKCS#1 v1.5.
    return signing_algorithm(leaf.public_key(), SignatureFormat.COSIGN)


def _check_chain(
    leaf: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    sans: tuple[str, ...],
    issuer: str | None,
) -> None:
    try:
        check_chain(leaf, intermediates, roots)
    except InvalidCertificateError as exc:
        raise _Refused(str(exc), sans, issuer) from exc


def _check_set(
    raw: bytes, rekor_keys: Sequence[PublicKeyTypes], sans: tuple[str, ...], issuer: str | None
) -> dict[str, Any]:
    try:
        bundle = json.loads(raw)
        entry = bundle["Payload"]
        signed = base64.b64decode(bundle["SignedEntryTimestamp"], validate=True)
        body, integrated, log_id, index = entry["body"], entry["integratedTime"], entry["logID"], entry["logIndex"]
        log_id_bytes = bytes.fromhex(log_id)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _Refused(f"malformed transparency-log bundle: {exc}", sans, issuer) from exc
    if not rekor_keys:
        raise _Refused("no Rekor public key is trusted: the log entry cannot be checked", sans, issuer)
    try:
        verify_inclusion_promise(
            body_b64=body,
            integrated_time=integrated,
            log_id=log_id_bytes,
            log_index=index,
            signed_entry_timestamp=signed,
            signed_by_log=any_key_signs(rekor_keys),
        )
    except ProofError as exc:
        raise _Refused(str(exc), sans, issuer) from exc
    return dict(entry)


def any_key_signs(keys: Sequence[PublicKeyTypes]) -> LogSignatureCheck:
    """A log-signature check that accepts any of ``keys`` whatever the log id (trust given as bare keys)."""

    def check(_log_id: bytes, signature: bytes, data: bytes) -> bool:
        return any(verify_raw(key, SignatureAlgorithm.ECDSA_SHA256, signature, data) for key in keys)

    return check


def _check_entry_body(
    entry: dict[str, Any],
    layer: CosignSignatureLayer,
    leaf: x509.Certificate,
    sans: tuple[str, ...],
    issuer: str | None,
) -> None:
    try:
        body = json.loads(base64.b64decode(entry["body"]))
        spec = body["spec"]
        if body.get("kind") != "hashedrekord":
            raise _Refused(f"unsupported transparency-log entry kind {body.get('kind')!r}", sans, issuer)
        logged_hash = spec["data"]["hash"]["value"]
        logged_signature = base64.b64decode(spec["signature"]["content"])
        logged_cert = base64.b64decode(spec["signature"]["publicKey"]["content"])
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise _Refused(f"malformed transparency-log entry: {exc}", sans, issuer) from exc
    if logged_hash != hashlib.sha256(layer.payload).hexdigest():
        raise _Refused("the transparency-log entry is for another payload", sans, issuer)
    if logged_signature != layer.signature:
        raise _Refused("the transparency-log entry is for another signature", sans, issuer)
    try:
        logged_leaf = x509.load_pem_x509_certificate(logged_cert)
    except ValueError as exc:
        raise _Refused("the transparency-log entry holds no certificate", sans, issuer) from exc
    if logged_leaf != leaf:
        raise _Refused("the transparency-log entry is for another certificate", sans, issuer)
