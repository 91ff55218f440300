"""RFC 3161 timestamp countersignatures: build requests, verify ``TimeStampToken``s (pure).

The token is a CMS SignedData whose content is a ``TSTInfo``. ``verify_timestamp_token`` checks,
in this order: the CMS shape, the TSTInfo, that the message imprint is the hash of the
signature being countersigned, the signer's signed attributes (content type, message digest,
signing-certificate-v2), the CMS signature, the TSA chain's certificate rules and that it ends
in a ``tsa`` trust-store root, and that the time range lies inside that chain's validity.
asn1crypto parses the ASN.1 (cryptography has no TSP/CMS-verify API); cryptography does the maths.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from asn1crypto import algos, cms, tsp
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from wharfinger.signing.notary.chain import (
    CertificatePurpose,
    ChainError,
    check_validity_range,
    describe,
    validate_chain,
)

__all__ = ["TimestampError", "VerifiedTimestamp", "build_timestamp_request", "verify_timestamp_token"]

_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_BASELINE_POLICY = "0.4.0.2023.1.1"  # RFC 3628 baseline time-stamp policy: accuracy of 1 second when unstated


class TimestampError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedTimestamp:
    gen_time: datetime
    lower: datetime
    upper: datetime
    tsa_chain: tuple[x509.Certificate, ...]  # signer first, trust-store root last


def build_timestamp_request(message: bytes, *, hash_name: str = "sha256", nonce: int | None = None) -> bytes:
    """A DER TimeStampReq for ``message`` (the signature value) with certReq set, as Notation sends."""
    digest = hashlib.new(hash_name, message).digest()
    request = tsp.TimeStampReq(
        {
            "version": "v1",
            "message_imprint": {"hash_algorithm": {"algorithm": hash_name}, "hashed_message": digest},
            "nonce": nonce if nonce is not None else secrets.randbits(63),
            "cert_req": True,
        }
    )
    return bytes(request.dump())


def token_from_response(response_der: bytes) -> bytes:
    """The TimeStampToken inside a TimeStampResp, or TimestampError when the TSA refused."""
    try:
        response = tsp.TimeStampResp.load(response_der)
        status = response["status"]["status"].native
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the TSA answer is not a TimeStampResp: {exc}") from exc
    if status not in {"granted", "granted_with_mods"}:
        text = response["status"]["status_string"].native
        raise TimestampError(f"the TSA refused the request: {status} {text or ''}".strip())
    token = response["time_stamp_token"]
    if not token or token.native is None:
        raise TimestampError("the TSA granted the request but sent no TimeStampToken")
    return bytes(token.dump())


def _load_token(token_der: bytes) -> tuple[cms.SignedData, tsp.TSTInfo, bytes]:
    try:
        info = cms.ContentInfo.load(token_der, strict=True)
        content_type = info["content_type"].dotted
    except (ValueError, TypeError) as exc:
        raise TimestampError(f"the timestamp token is not a CMS ContentInfo: {exc}") from exc
    if content_type != "1.2.840.113549.1.7.2":
        raise TimestampError(f"unexpected content type: {content_type}; a timestamp token is CMS SignedData")
    try:
        signed: cms.SignedData = info["content"]
        encap = signed["encap_content_info"]
        e_type = encap["content_type"].dotted
    except (ValueError, TypeError, KeyError) as exc:
        raise TimestampError(f"the timestamp token's SignedData is malformed: {exc}") from exc
    if e_type != "1.2.840.113549.1.9.16.1.4":
        raise TimestampError(f"unexpected content type: {e_type}; the signed content must be a TSTInfo")
    try:
        raw = encap["content"]
        content_bytes = bytes(raw.contents)
        tst = tsp.TSTInfo.load(content_bytes, strict=True)
        tst.native  # noqa: B018 -- forces a full parse so structure errors surface here
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise TimestampError(f"failed to get the timestamp TSTInfo: asn1: structure error ({exc})") from exc
    return signed, tst, content_bytes


def _accuracy(tst: tsp.TSTInfo) -> timedelta:
    accuracy = tst["accuracy"]
    if accuracy.native is None:
        return timedelta(seconds=1) if tst["policy"].dotted == _BASELINE_POLICY else timedelta(0)
    parts = accuracy.native
    return timedelta(
        seconds=parts.get("seconds") or 0, milliseconds=parts.get("millis") or 0, microseconds=parts.get("micros") or 0
    )


def _verify_cms_signature(cert: x509.Certificate, signer: cms.SignerInfo, data: bytes) -> None:
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(f"the timestamp is signed with digest {digest_name}; only SHA-256/384/512 are accepted")
    hash_algorithm = _HASHES[digest_name]()
    signature = bytes(signer["signature"].native)
    sig_algo: algos.SignedDigestAlgorithm = signer["signature_algorithm"]
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if sig_algo.signature_algo == "rsassa_pss":
                key.verify(
                    signature,
                    data,
                    padding.PSS(mgf=padding.MGF1(hash_algorithm), salt_length=padding.PSS.AUTO),
                    hash_algorithm,
                )
            else:
                key.verify(signature, data, padding.PKCS1v15(), hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        else:
            raise TimestampError(f"the TSA key type {type(key).__name__} is not supported")
    except InvalidSignature:
        raise TimestampError("the timestamp token's signature is invalid: the token was altered or forged") from None


def _signer_certificate(
    signed: cms.SignedData, signer: cms.SignerInfo
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    certs = [
        x509.load_der_x509_certificate(choice.chosen.dump())
        for choice in signed["certificates"] or []
        if choice.name == "certificate"
    ]
    sid = signer["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            issuer_serial = sid.chosen
            if (
                cert.serial_number == issuer_serial["serial_number"].native
                and cert.issuer.public_bytes() == issuer_serial["issuer"].dump()
            ):
                return cert, certs
        else:
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.chosen.native:
                return cert, certs
    raise TimestampError("signing certificate not found in the timestamp token")


def _build_chain(
    leaf: x509.Certificate, pool: Sequence[x509.Certificate], roots: Sequence[x509.Certificate]
) -> tuple[x509.Certificate, ...]:
    """Depth-first path from ``leaf`` to a trust-store root through the token's certificates (roots first)."""
    root_ders = {r.public_bytes(Encoding.DER) for r in roots}

    def extend(path: list[x509.Certificate]) -> list[x509.Certificate] | None:
        current = path[-1]
        if current.public_bytes(Encoding.DER) in root_ders:
            return path
        if len(path) >= 8:  # noqa: PLR2004 -- TSA chains are 2-4 certificates; the bound stops loops
            return None
        used = {c.public_bytes(Encoding.DER) for c in path}
        for candidate in (*roots, *pool):
            if candidate.subject != current.issuer or candidate.public_bytes(Encoding.DER) in used:
                continue
            try:
                current.verify_directly_issued_by(candidate)
            except (ValueError, TypeError, InvalidSignature):
                continue
            found = extend([*path, candidate])
            if found:
                return found
        return None

    chain = extend([leaf])
    if chain is None:
        raise TimestampError(
            f"the timestamp certificate chain of {describe(leaf)!r} does not lead to a root in the tsa trust store "
            "(x509: certificate signed by unknown authority)"
        )
    return tuple(chain)


def verify_timestamp_token(
    token_der: bytes, message: bytes, tsa_roots: Sequence[x509.Certificate]
) -> VerifiedTimestamp:
    """Verify that ``token_der`` countersigns ``message`` and chains to one of ``tsa_roots``."""
    signed, tst, content_bytes = _load_token(token_der)
    signer_infos = signed["signer_infos"]
    if len(signer_infos) != 1:
        raise TimestampError(f"a timestamp token must have exactly one signer, this one has {len(signer_infos)}")
    signer = signer_infos[0]
    cert, pool = _signer_certificate(signed, signer)
    signed_attrs = signer["signed_attrs"]
    if not signed_attrs:
        raise TimestampError("the timestamp token has no signed attributes")
    attrs = {a["type"].native: a["values"] for a in signed_attrs}
    digest_name = signer["digest_algorithm"]["algorithm"].native
    if digest_name not in _HASHES:
        raise TimestampError(f"the timestamp is signed with digest {digest_name}; only SHA-256/384/512 are accepted")
    if "content_type" not in attrs or attrs["content_type"][0].dotted != "1.2.840.113549.1.9.16.1.4":
        raise TimestampError("the timestamp token's signed content-type attribute is not TSTInfo")
    if (
        "message_digest" not in attrs
        or attrs["message_digest"][0].native != hashlib.new(digest_name, content_bytes).digest()
    ):
        raise TimestampError("the timestamp token's message digest does not match its TSTInfo: the token was altered")
    if "signing_certificate_v2" not in attrs:
        raise TimestampError("the timestamp token lacks the signing-certificate-v2 attribute")
    cert_ids = attrs["signing_certificate_v2"][0]["certs"]
    first = cert_ids[0]
    id_hash = first["hash_algorithm"]["algorithm"].native if first["hash_algorithm"].native else "sha256"
    if first["cert_hash"].native != hashlib.new(id_hash, cert.public_bytes(Encoding.DER)).digest():
        raise TimestampError("the signing-certificate-v2 attribute names another certificate than the TSA signer")
    # The signature covers the attributes DER-encoded as a SET OF (tag 0x31), not the [0] IMPLICIT form.
    der = bytearray(signed_attrs.dump(force=True))
    der[0] = 0x31
    _verify_cms_signature(cert, signer, bytes(der))
    chain = _build_chain(cert, pool, tsa_roots)
    try:
        validate_chain(chain, CertificatePurpose.TIMESTAMPING)
    except ChainError as exc:
        raise TimestampError(f"the timestamp certificate chain is invalid: {exc.message}") from exc
    imprint = tst["message_imprint"]
    hash_name = imprint["hash_algorithm"]["algorithm"].native
    if hash_name not in _HASHES:
        raise TimestampError(f"the timestamp message imprint uses {hash_name}; only SHA-256/384/512 are accepted")
    if hashlib.new(hash_name, message).digest() != imprint["hashed_message"].native:
        raise TimestampError("invalid TSTInfo: mismatched message (the timestamp is for another signature)")
    gen_time: datetime = tst["gen_time"].native
    accuracy = _accuracy(tst)
    lower, upper = gen_time - accuracy, gen_time + accuracy
    problem = check_validity_range(chain, lower, upper)
    if problem:
        raise TimestampError(f"the timestamp is outside the TSA certificate validity: {problem}")
    return VerifiedTimestamp(gen_time=gen_time, lower=lower, upper=upper, tsa_chain=chain)
