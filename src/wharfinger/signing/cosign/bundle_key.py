"""Sigstore bundles signed with a key (``cosign sign-blob --key … --bundle``), not a Fulcio identity.

Such a bundle names no certificate, only a key hint; the caller brings the trusted public key
and, optionally, the window in which that key was valid (a rotated-out key stays trusted for
what it signed before its end). The signing time then comes from the bundle's RFC 3161 signed
timestamps, verified with signing-notary's ``verify_timestamp_token`` against the trusted
root's timestamp authorities (token signer and chain from the trusted root when the token
carries none, as Sigstore's TSA answers). Checked, in order:

1. the signature verifies with the key, over the artifact (or its SHA-256 digest) or, for a
   DSSE bundle, over the envelope's pre-authentication encoding;
2. every signed timestamp countersigns that signature and chains to a trusted TSA, and lies
   inside that TSA's validity in the trusted root;
3. when the key has a validity window, some verified timestamp lies inside it; with no
   timestamp, a key with a window is refused (its validity cannot be established offline).

Transparency-log entries in key-based bundles are not verified here: such bundles are refused
(see docs/cosign.md, known limits).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from wharfinger.signing.cosign.attestation import pae
from wharfinger.signing.cosign.bundle import MAX_BUNDLE_BYTES, BundleVerification
from wharfinger.signing.keys.algorithms import cosign_algorithm, verify_raw

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

__all__ = ["TrustedPublicKey", "verify_bundle_with_key"]

MAX_TIMESTAMPS = 32  # signed timestamps read from one bundle; more is hostile


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustedPublicKey:
    name: str
    public_key: PublicKeyTypes
    valid_from: datetime | None = None  # aware; None: no lower bound
    valid_until: datetime | None = None  # aware; None: no upper bound

    @property
    def has_window(self) -> bool:
        return self.valid_from is not None or self.valid_until is not None

    def valid_at(self, moment: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= moment) and (
            self.valid_until is None or moment <= self.valid_until
        )


class _Refused(Exception):  # noqa: N818 -- internal control flow, never escapes this module
    pass


def verify_bundle_with_key(
    bundle_json: bytes,
    *,
    artifact: bytes | None,
    key: TrustedPublicKey,
    trusted_root: TrustedRoot,
    artifact_sha256: str | None = None,
) -> BundleVerification:
    """Verify a key-signed bundle over ``artifact`` (or ``artifact_sha256``, hex) or its DSSE envelope."""
    try:
        return _verify(bundle_json, artifact, artifact_sha256, key, trusted_root)
    except _Refused as refused:
        return BundleVerification(verified=False, reason=str(refused))


def _verify(
    bundle_json: bytes,
    artifact: bytes | None,
    artifact_sha256: str | None,
    key: TrustedPublicKey,
    trusted_root: TrustedRoot,
) -> BundleVerification:
    if len(bundle_json) > MAX_BUNDLE_BYTES:
        raise _Refused(f"bundle exceeds {MAX_BUNDLE_BYTES} bytes")
    try:
        document = json.loads(bundle_json)
        material = document["verificationMaterial"]
        media_type = str(document["mediaType"])
    except (ValueError, KeyError, TypeError) as exc:
        raise _Refused(f"invalid bundle: {exc}") from exc
    if not media_type.startswith("application/vnd.dev.sigstore.bundle"):
        raise _Refused(f"invalid bundle: media type {media_type!r} is not a Sigstore bundle")
    if not isinstance(material, dict) or "publicKey" not in material:
        raise _Refused("invalid bundle: not signed with a key (it names a certificate: verify it by identity)")
    if material.get("tlogEntries"):
        raise _Refused("key-based bundles with transparency-log entries are not supported yet")
    signature, payload_type, payload = _check_signature(document, artifact, artifact_sha256, key)
    times = _verified_times(material, signature, trusted_root)
    if key.has_window:
        if not times:
            raise _Refused("no signed timestamp: the key's validity window cannot be checked")
        if not any(key.valid_at(t) for t in times):
            shown = ", ".join(f"{t:%Y-%m-%dT%H:%M:%SZ}" for t in times)
            raise _Refused(f"signature time outside of public key validity window (signed at {shown})")
    when = f", timestamped {times[0]:%Y-%m-%dT%H:%M:%SZ}" if times else ""
    return BundleVerification(
        verified=True,
        reason=f"signed by key {key.name}{when}",
        payload_type=payload_type,
        payload=payload,
    )


def _check_signature(
    document: Mapping[str, Any], artifact: bytes | None, artifact_sha256: str | None, key: TrustedPublicKey
) -> tuple[bytes, str | None, bytes | None]:
    algorithm = cosign_algorithm(key.public_key)
    try:
        if "dsseEnvelope" in document:
            envelope = document["dsseEnvelope"]
            payload_type = str(envelope["payloadType"])
            payload = base64.b64decode(envelope["payload"], validate=True)
            signatures = envelope["signatures"]
            if not isinstance(signatures, list) or len(signatures) != 1:
                raise _Refused("invalid bundle: the DSSE envelope must carry exactly one signature")
            signature = base64.b64decode(signatures[0]["sig"], validate=True)
            if not verify_raw(key.public_key, algorithm, signature, pae(payload_type, payload)):
                raise _Refused(f"the DSSE signature does not verify with key {key.name}")
            return signature, payload_type, payload
        message = document["messageSignature"]
        signature = base64.b64decode(message["signature"], validate=True)
        logged_digest = message.get("messageDigest")
        claimed = base64.b64decode(logged_digest["digest"], validate=True) if logged_digest else None
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise _Refused(f"invalid bundle: malformed signature ({exc})") from exc
    if artifact is not None:
        digest = hashlib.sha256(artifact).digest()
    elif artifact_sha256 is not None:
        try:
            digest = bytes.fromhex(artifact_sha256)
        except ValueError as exc:
            raise _Refused("the artifact digest is not hexadecimal SHA-256") from exc
    else:
        raise _Refused("give the artifact (or its SHA-256 digest) the bundle signs")
    if claimed is not None and claimed != digest:
        raise _Refused("the bundle's message digest is not the artifact's: the bundle is for another artifact")
    ok = (
        verify_raw(key.public_key, algorithm, signature, artifact)
        if artifact is not None
        else _verify_prehashed(key.public_key, signature, digest)
    )
    if not ok:
        raise _Refused(f"the signature does not verify with key {key.name} (tampered artifact?)")
    return signature, None, None


def _verify_prehashed(public_key: PublicKeyTypes, signature: bytes, digest: bytes) -> bool:
    prehashed = Prehashed(hashes.SHA256())
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, digest, ec.ECDSA(prehashed))
        elif isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, digest, padding.PKCS1v15(), prehashed)
        else:
            return False  # Ed25519 signs the message itself: the digest alone cannot be checked
    except InvalidSignature:
        return False
    return True


def _verified_times(material: Mapping[str, Any], signature: bytes, trusted_root: TrustedRoot) -> list[datetime]:
    from asn1crypto import tsp  # noqa: PLC0415 -- parsed only when a bundle carries timestamps

    from wharfinger.signing.notary.timestamp import TimestampError, verify_timestamp_token  # noqa: PLC0415

    try:
        raw_list = (material.get("timestampVerificationData") or {}).get("rfc3161Timestamps") or []
        tokens = [base64.b64decode(t["signedTimestamp"], validate=True) for t in raw_list]
    except (KeyError, TypeError, AttributeError, ValueError, binascii.Error) as exc:  # non-ASCII base64: ValueError
        raise _Refused(f"invalid bundle: malformed signed timestamp ({exc})") from exc
    if len(tokens) > MAX_TIMESTAMPS:
        raise _Refused(f"the bundle has {len(tokens)} signed timestamps (limit {MAX_TIMESTAMPS})")
    authorities = trusted_root.get_timestamp_authorities() if tokens else []
    if tokens and not authorities:
        raise _Refused("the bundle has signed timestamps but the trusted root names no timestamp authority")
    times: list[datetime] = []
    for index, raw in enumerate(tokens):
        token = _token_of(raw, tsp)
        problems = []
        for authority in authorities:
            chain = authority.certificates(allow_expired=True)
            if not chain:
                continue
            try:
                verified = verify_timestamp_token(token, signature, chain[-1:], known_certificates=chain)
            except TimestampError as exc:
                problems.append(exc.message)
                continue
            start, end = authority.validity_period_start, authority.validity_period_end
            if verified.gen_time < start or (end is not None and verified.gen_time > end):
                problems.append("the timestamp lies outside its authority's validity in the trusted root")
                continue
            times.append(verified.gen_time)
            break
        else:
            raise _Refused(f"signed timestamp {index + 1} does not verify: {'; '.join(problems) or 'no TSA chain'}")
    return times


def _token_of(raw: bytes, tsp: Any) -> bytes:
    """Bundles store the TSA's whole TimeStampResp (status + token); accept a bare token too."""
    try:
        response = tsp.TimeStampResp.load(raw)
        status = response["status"]["status"].native
        token = response["time_stamp_token"]
        if status not in {"granted", "granted_with_mods"} or not token:
            raise _Refused(f"the signed timestamp was not granted (status {status})")
        return bytes(token.dump())
    except (ValueError, TypeError, KeyError):
        return raw  # let verify_timestamp_token say what is wrong with it
