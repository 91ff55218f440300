"""Sigstore bundles whose Rekor entry is ``intoto`` v0.0.2: verified by our own path.

The ``sigstore`` library verifies ``hashedrekord`` and ``dsse`` entries only; npm provenance
(sigstore-js) and older cosign attestations were logged as ``intoto`` v0.0.2 entries, which it
refuses. Such a bundle holds a DSSE envelope, the Fulcio leaf and one log entry. Offline, in order:

1. the leaf is a code-signing certificate chaining to the trusted root's Fulcio CAs;
2. the leaf's key signs the envelope (DSSE pre-authentication encoding);
3. the log entry is proven: its inclusion promise (SET) is signed by the trusted root's key of
   that log, and when an inclusion proof is present, the Merkle path and its signed checkpoint
   hold too; the SET is required, being what vouches for the integrated time;
4. the entry is about this envelope: its body stores the payload's SHA-256, the signature and
   the leaf (intoto v0.0.2 double-base64-encodes the signature);
5. the leaf was valid at the integrated time;
6. the leaf names a trusted identity;
7. if an artifact is given, the statement has it as a subject (SHA-256 or SHA-512).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

from wharfinger.errors import ManifestError
from wharfinger.signing.cosign.attestation import pae, parse_statement
from wharfinger.signing.cosign.bundle import (
    BundleVerification,
    IdentityPolicy,
    certificate_identities,
    certificate_issuer,
)
from wharfinger.signing.cosign.certs import InvalidCertificateError, check_chain
from wharfinger.signing.cosign.tlog import (
    LogSignatureCheck,
    ProofError,
    parse_inclusion_proof,
    verify_checkpoint,
    verify_inclusion_promise,
    verify_inclusion_proof,
)
from wharfinger.signing.keys.algorithms import cosign_algorithm, verify_raw

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

__all__ = ["is_intoto_bundle", "verify_intoto_bundle"]

_MAX_SIGNATURES = 8  # DSSE signatures in the logged envelope; more is hostile


class _Refused(Exception):  # noqa: N818 -- internal control flow, never escapes this module
    pass


def is_intoto_bundle(document: Mapping[str, Any]) -> bool:
    """True when the bundle's (first) log entry is of kind ``intoto``, which needs this path."""
    try:
        entries = document["verificationMaterial"]["tlogEntries"]
        return bool(entries) and entries[0]["kindVersion"]["kind"] == "intoto"
    except (KeyError, TypeError, IndexError):
        return False


def verify_intoto_bundle(
    document: Mapping[str, Any],
    *,
    artifact: bytes | None,
    artifact_sha256: str | None,
    trusted_root: TrustedRoot,
    identity: IdentityPolicy,
) -> BundleVerification:
    leaf: x509.Certificate | None = None
    try:
        leaf = _leaf(document)
        return _verify(document, leaf, artifact, artifact_sha256, trusted_root, identity)
    except _Refused as refused:
        sans = certificate_identities(leaf) if leaf is not None else ()
        issuer = certificate_issuer(leaf) if leaf is not None else None
        return BundleVerification(verified=False, reason=str(refused), identity=sans, issuer=issuer)


def _leaf(document: Mapping[str, Any]) -> x509.Certificate:
    material = document.get("verificationMaterial")
    if not isinstance(material, dict):
        raise _Refused("invalid bundle: no verification material")
    try:
        if "x509CertificateChain" in material:
            raw = material["x509CertificateChain"]["certificates"][0]["rawBytes"]
        else:
            raw = material["certificate"]["rawBytes"]
        certificate = x509.load_der_x509_certificate(base64.b64decode(raw, validate=True))
        _ = certificate.extensions, certificate.public_key()  # decoded now: hostile ones fail here, not later
    except (KeyError, TypeError, IndexError, ValueError, binascii.Error, x509.DuplicateExtension) as exc:
        raise _Refused(f"invalid bundle: no readable signing certificate ({exc})") from exc
    except UnsupportedAlgorithm as exc:
        raise _Refused(f"invalid bundle: unsupported signing certificate key ({exc})") from exc
    return certificate


def _verify(  # noqa: PLR0917 -- private; one call site, all arguments distinct
    document: Mapping[str, Any],
    leaf: x509.Certificate,
    artifact: bytes | None,
    artifact_sha256: str | None,
    trusted_root: TrustedRoot,
    identity: IdentityPolicy,
) -> BundleVerification:
    payload_type, payload, signature = _envelope(document)
    try:
        check_chain(leaf, (), trusted_root.get_fulcio_certs())
    except InvalidCertificateError as exc:
        raise _Refused(str(exc)) from exc
    except Exception as exc:  # the library raises its own MetadataError for a root without CAs
        raise _Refused(f"the trusted root has no usable Fulcio CA: {exc}") from exc
    if not verify_raw(leaf.public_key(), cosign_algorithm(leaf.public_key()), signature, pae(payload_type, payload)):
        raise _Refused("the DSSE signature does not verify with the certificate's key (tampered envelope?)")
    entry = _single_entry(document)
    integrated = _check_log_entry(entry, _log_signature_check(trusted_root))
    _check_entry_body(entry, payload_type, payload, signature, leaf)
    if not (leaf.not_valid_before_utc <= integrated <= leaf.not_valid_after_utc):
        raise _Refused(f"the certificate was not valid when the entry was logged ({integrated:%Y-%m-%dT%H:%M:%SZ})")
    problem = identity.check(leaf)
    if problem is not None:
        raise _Refused(problem)
    _check_subject(payload, artifact, artifact_sha256)
    sans, issuer = certificate_identities(leaf), certificate_issuer(leaf)
    return BundleVerification(
        verified=True,
        reason=f"signed by {', '.join(sans) or '(no SAN)'} ({issuer or 'no issuer'}), intoto log entry",
        identity=sans,
        issuer=issuer,
        payload_type=payload_type,
        payload=payload,
    )


def _envelope(document: Mapping[str, Any]) -> tuple[str, bytes, bytes]:
    envelope = document.get("dsseEnvelope")
    if not isinstance(envelope, dict):
        raise _Refused("invalid bundle: an intoto log entry needs a DSSE envelope")
    try:
        payload_type = str(envelope["payloadType"])
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = envelope["signatures"]
        if not isinstance(signatures, list) or len(signatures) != 1:
            raise _Refused("invalid bundle: the DSSE envelope must carry exactly one signature")
        signature = base64.b64decode(signatures[0]["sig"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise _Refused(f"invalid bundle: malformed DSSE envelope ({exc})") from exc
    return payload_type, payload, signature


def _single_entry(document: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        entries = document["verificationMaterial"]["tlogEntries"]
    except (KeyError, TypeError) as exc:
        raise _Refused("invalid bundle: no transparency log entry") from exc
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise _Refused("invalid bundle: expected exactly one transparency log entry")
    entry: Mapping[str, Any] = entries[0]
    return entry


def _log_signature_check(trusted_root: TrustedRoot) -> LogSignatureCheck:
    from sigstore._internal.trust import KeyringPurpose  # noqa: PLC0415 -- TrustedRoot.rekor_keyring takes it
    from sigstore.errors import Error as SigstoreError  # noqa: PLC0415 -- optional extra wharfinger[sigstore]

    try:
        keyring = trusted_root.rekor_keyring(KeyringPurpose.VERIFY)
    except SigstoreError as exc:
        raise _Refused(f"the trusted root has no Rekor key: {exc}") from exc

    def check(log_id: bytes, signature: bytes, data: bytes) -> bool:
        try:
            keyring.verify(key_id=log_id, signature=signature, data=data)  # type: ignore[arg-type]
        except SigstoreError:
            return False
        return True

    return check


def _check_log_entry(entry: Mapping[str, Any], signed_by_log: LogSignatureCheck) -> datetime:
    """Verify the entry's proofs; return its integrated time (vouched for by the SET)."""
    try:
        kind = entry["kindVersion"]
        if (kind.get("kind"), kind.get("version")) != ("intoto", "0.0.2"):
            raise _Refused(f"unsupported transparency-log entry {kind.get('kind')} {kind.get('version')}")
        body = base64.b64decode(entry["canonicalizedBody"], validate=True)
        log_id = base64.b64decode(entry["logId"]["keyId"], validate=True)
        integrated_time = int(entry["integratedTime"])
        log_index = int(entry["logIndex"])
        promise = entry.get("inclusionPromise")
        proof_document = entry.get("inclusionProof")
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        raise _Refused(f"invalid bundle: malformed transparency log entry ({exc})") from exc
    if not isinstance(promise, dict) or "signedEntryTimestamp" not in promise:
        raise _Refused("the log entry has no inclusion promise: its integrated time is not signed")
    try:
        verify_inclusion_promise(
            body_b64=base64.b64encode(body).decode(),
            integrated_time=integrated_time,
            log_id=log_id,
            log_index=log_index,
            signed_entry_timestamp=base64.b64decode(promise["signedEntryTimestamp"], validate=True),
            signed_by_log=signed_by_log,
        )
        if proof_document is not None:
            proof = parse_inclusion_proof(proof_document)
            verify_inclusion_proof(body, proof)
            verify_checkpoint(proof, log_id, signed_by_log)
    except (ProofError, ValueError, TypeError, binascii.Error) as exc:
        raise _Refused(
            f"malformed or failed log proof: {exc}" if not isinstance(exc, ProofError) else str(exc)
        ) from exc
    return datetime.fromtimestamp(integrated_time, UTC)


def _check_entry_body(
    entry: Mapping[str, Any], payload_type: str, payload: bytes, signature: bytes, leaf: x509.Certificate
) -> None:
    try:
        body = json.loads(base64.b64decode(entry["canonicalizedBody"]))
        content = body["spec"]["content"]
        logged_hash = content["payloadHash"]
        logged_envelope = content["envelope"]
        logged_signatures = logged_envelope["signatures"]
        if not isinstance(logged_signatures, list) or len(logged_signatures) > _MAX_SIGNATURES:
            raise _Refused(f"the log entry must list at most {_MAX_SIGNATURES} signatures")
        pairs = [
            (base64.b64decode(base64.b64decode(s["sig"])), base64.b64decode(s["publicKey"])) for s in logged_signatures
        ]
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise _Refused(f"malformed transparency-log entry body ({exc})") from exc
    if body.get("kind") != "intoto" or body.get("apiVersion") != "0.0.2":
        raise _Refused("the log entry body is not an intoto v0.0.2 entry")
    if logged_hash.get("algorithm") != "sha256" or logged_hash.get("value") != hashlib.sha256(payload).hexdigest():
        raise _Refused("the transparency-log entry is for another payload")
    if logged_envelope.get("payloadType") != payload_type:
        raise _Refused("the transparency-log entry is for another payload type")
    for logged_signature, logged_key in pairs:
        if logged_signature != signature:
            continue
        try:
            if x509.load_pem_x509_certificate(logged_key) == leaf:
                return
        except ValueError:
            continue
    raise _Refused("the transparency-log entry is for another signature or certificate")


def _check_subject(payload: bytes, artifact: bytes | None, artifact_sha256: str | None) -> None:
    if artifact is None and artifact_sha256 is None:
        return  # the caller checks the statement (image attestations: the subject is the image digest)
    wanted = {f"sha256:{artifact_sha256}"} if artifact_sha256 else set()
    if artifact is not None:
        wanted |= {f"sha256:{hashlib.sha256(artifact).hexdigest()}", f"sha512:{hashlib.sha512(artifact).hexdigest()}"}
    try:
        statement = parse_statement(payload)
    except ManifestError as exc:
        raise _Refused(exc.message) from exc
    if not wanted & set(statement.subject_digests):
        raise _Refused("the attestation's subjects do not include the artifact")
