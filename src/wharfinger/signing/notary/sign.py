"""Build Notary Project signature envelopes (JWS or COSE) with any ``Signer``. Pure given the signer.

Steps, the same for both formats:

1. the signer's certificate chain is checked against the spec's certificate rules and must be
   valid at the signing time; the algorithm is the one the leaf key dictates, and the signer must
   claim the same (no algorithm confusion on our side either);
2. the payload is the target descriptor as canonical JSON; the protected headers carry the
   signing scheme, the signing time (or authentic signing time) and the optional expiry, all
   listed in ``crit`` except the plain signing time, as the spec requires;
3. the signer signs the format's signing input; ECDSA signatures become raw ``r||s``; the result
   is verified once with the certificate key, so a key/certificate mix-up never leaves this function;
4. an optional timestamper countersigns the signature value (RFC 3161) and its token goes to the
   unprotected headers with the certificate chain and the signing agent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from wharfinger import __version__
from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import SignatureFormat, spec_algorithm
from wharfinger.signing.keys.signer import Signer
from wharfinger.signing.notary.algorithms import (
    AlgorithmInfo,
    der_to_raw_ecdsa,
    info_for,
    verify_signature,
)
from wharfinger.signing.notary.chain import (
    CertificatePurpose,
    ChainError,
    check_validity_at,
    load_certificates,
    validate_chain,
)
from wharfinger.signing.notary.cose import encode_cose, encode_protected, sig_structure
from wharfinger.signing.notary.envelope import canonical_payload
from wharfinger.signing.notary.jws import encode_jws, format_time, protected_header_bytes, signing_input
from wharfinger.signing.notary.model import (
    HEADER_AUTHENTIC_SIGNING_TIME,
    HEADER_EXPIRY,
    HEADER_SIGNING_SCHEME,
    HEADER_SIGNING_TIME,
    PAYLOAD_MEDIA_TYPE,
    EnvelopeMediaType,
    SigningScheme,
    TargetDescriptor,
)

__all__ = ["SIGNING_AGENT", "Timestamper", "build_cose_envelope", "build_envelope", "build_jws_envelope"]

SIGNING_AGENT = f"wharfinger/{__version__}"

# Countersigns a signature value: (signature bytes, hash name "sha256"|"sha384"|"sha512") -> TimeStampToken DER.
Timestamper = Callable[[bytes, str], bytes]


def _prepare(
    signer: Signer, signing_time: datetime, expiry: datetime | None
) -> tuple[AlgorithmInfo, tuple[bytes, ...]]:
    if signing_time.tzinfo is None:
        raise InputError("the signing time must carry a time zone", hint="pass an aware datetime (UTC)")
    if expiry is not None and expiry <= signing_time:
        raise InputError("the signature expiry must be after the signing time", hint="choose a later --expiry")
    spec = signer.key()
    # The key rule first, from the one place every provider shares: a refused key reads the same from all.
    info = info_for(spec_algorithm(spec, SignatureFormat.NOTARY))
    if not spec.certificate_chain:
        raise KeyProviderError(
            f"key {spec.key_id} has no certificate chain; Notary Project signatures carry the signer's X.509 chain",
            hint="put the PEM chain (leaf first) beside the key, or generate one with `wharfinger keys generate`",
        )
    try:
        chain = load_certificates(spec.certificate_chain)
        validate_chain(chain, CertificatePurpose.CODE_SIGNING)
    except ChainError as exc:
        raise InputError(f"the signing certificate chain is not usable: {exc.message}", hint="issue a code-signing "
                         "certificate (keyUsage digitalSignature, critical) with its full chain") from exc  # fmt: skip
    problem = check_validity_at(chain, signing_time)
    if problem:
        raise InputError(f"cannot sign: {problem}", hint="renew the signing certificate")
    leaf_key = chain[0].public_key()
    if leaf_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo) != spec.public_key_der:
        raise KeyProviderError(
            f"key {spec.key_id} does not match the public key of its certificate {chain[0].subject.rfc4514_string()!r}",
            hint="the certificate file beside the key belongs to another key",
        )
    if spec.algorithm is not info.algorithm:
        raise KeyProviderError(
            f"key {spec.key_id} signs with {spec.algorithm} but its certificate requires {info.algorithm}",
            hint="the Notary Project derives the algorithm from the key; configure the provider accordingly",
        )
    return info, spec.certificate_chain


def _signature(signer: Signer, info: AlgorithmInfo, data: bytes, certificate_der: bytes) -> bytes:
    raw = signer.sign(data)
    if info.ec_coordinate_bytes:
        raw = der_to_raw_ecdsa(raw, info)
    leaf = load_certificates([certificate_der])[0]
    if not verify_signature(leaf.public_key(), info, raw, data):
        raise KeyProviderError(
            "the key provider returned a signature that does not verify with the signing certificate",
            hint="the provider's key and certificate do not belong together, or the provider is broken",
        )
    return raw


def _critical(scheme: SigningScheme, expiry: datetime | None) -> list[str]:
    crit = [HEADER_SIGNING_SCHEME]
    if scheme is SigningScheme.X509_SIGNING_AUTHORITY:
        crit.append(HEADER_AUTHENTIC_SIGNING_TIME)
    if expiry is not None:
        crit.append(HEADER_EXPIRY)
    return crit


def _time_header(scheme: SigningScheme) -> str:
    return HEADER_SIGNING_TIME if scheme is SigningScheme.X509 else HEADER_AUTHENTIC_SIGNING_TIME


def _countersignature(
    timestamp: Timestamper | None, signature: bytes, info: AlgorithmInfo, scheme: SigningScheme
) -> bytes | None:
    # Only notary.x509 is timestamped: under notary.x509.signingAuthority the signer itself vouches for
    # the time (authenticSigningTime), and the verifier checks that instead of a TSA token.
    return timestamp(signature, info.hash_name) if timestamp and scheme is SigningScheme.X509 else None


def build_jws_envelope(
    payload_descriptor: TargetDescriptor,
    signer: Signer,
    signing_time: datetime,
    expiry: datetime | None = None,
    timestamp: Timestamper | None = None,
    *,
    signing_scheme: SigningScheme = SigningScheme.X509,
    signing_agent: str = SIGNING_AGENT,
) -> bytes:
    info, chain = _prepare(signer, signing_time, expiry)
    headers: dict[str, object] = {
        "alg": info.jws_name,
        "cty": PAYLOAD_MEDIA_TYPE,
        "crit": _critical(signing_scheme, expiry),
        HEADER_SIGNING_SCHEME: signing_scheme.value,
        _time_header(signing_scheme): format_time(signing_time),
    }
    if expiry is not None:
        headers[HEADER_EXPIRY] = format_time(expiry)
    protected = protected_header_bytes(headers)
    payload = canonical_payload(payload_descriptor)
    signature = _signature(signer, info, signing_input(protected, payload), chain[0])
    token = _countersignature(timestamp, signature, info, signing_scheme)
    return encode_jws(
        protected=protected,
        payload=payload,
        signature=signature,
        certificate_chain=chain,
        signing_agent=signing_agent,
        timestamp_token=token,
    )


def build_cose_envelope(
    payload_descriptor: TargetDescriptor,
    signer: Signer,
    signing_time: datetime,
    expiry: datetime | None = None,
    timestamp: Timestamper | None = None,
    *,
    signing_scheme: SigningScheme = SigningScheme.X509,
    signing_agent: str = SIGNING_AGENT,
) -> bytes:
    info, chain = _prepare(signer, signing_time, expiry)
    headers: dict[object, object] = {
        1: info.cose_id,
        2: _critical(signing_scheme, expiry),
        3: PAYLOAD_MEDIA_TYPE,
        HEADER_SIGNING_SCHEME: signing_scheme.value,
        _time_header(signing_scheme): signing_time.replace(microsecond=0),
    }
    if expiry is not None:
        headers[HEADER_EXPIRY] = expiry.replace(microsecond=0)
    protected = encode_protected(headers)
    payload = canonical_payload(payload_descriptor)
    signature = _signature(signer, info, sig_structure(protected, payload), chain[0])
    token = _countersignature(timestamp, signature, info, signing_scheme)
    return encode_cose(
        protected=protected,
        payload=payload,
        signature=signature,
        certificate_chain=chain,
        signing_agent=signing_agent,
        timestamp_token=token,
    )


def build_envelope(
    media_type: EnvelopeMediaType,
    payload_descriptor: TargetDescriptor,
    signer: Signer,
    signing_time: datetime,
    *,
    expiry: datetime | None = None,
    timestamp: Timestamper | None = None,
) -> bytes:
    builder = build_jws_envelope if media_type is EnvelopeMediaType.JWS else build_cose_envelope
    return builder(payload_descriptor, signer, signing_time, expiry, timestamp)
