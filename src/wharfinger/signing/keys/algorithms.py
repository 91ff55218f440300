"""Which signature algorithm a public key implies, and how to verify with it.

One place for the key rules so every provider and envelope agrees:

* Notary Project signatures: RSASSA-PSS with SHA-256/384/512 for RSA 2048/3072/4096 exactly, ECDSA with
  the curve's own hash on P-256/P-384/P-521 (the signature specification's "Algorithm Selection").
* cosign signatures: any RSA key of at least ``MIN_RSA_BITS`` with PKCS#1 v1.5 and SHA-256, ECDSA with
  SHA-256 on every curve, Ed25519.

``signing_algorithm`` applies a format's rule and is the only place that refuses a key for its size or
curve, so a refused key reads the same whichever provider (file, PKCS#11, AWS KMS, Azure Key Vault) holds it.
"""

from __future__ import annotations

from enum import StrEnum

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from wharfinger.errors import KeyProviderError
from wharfinger.signing.keys.signer import KeySpec, SignatureAlgorithm

__all__ = [
    "EC_CURVE_ALGORITHMS",
    "MIN_RSA_BITS",
    "NOTARY_RSA_ALGORITHMS",
    "SignatureFormat",
    "cosign_algorithm",
    "default_algorithm",
    "hash_for",
    "load_public_key",
    "signing_algorithm",
    "spec_algorithm",
    "verify_raw",
]

MIN_RSA_BITS = 2048  # cosign's floor for RSA keys, and the Notary Project's for certificate keys

# The one table of curve -> algorithm (Notary Project's; cosign signs SHA-256 on every curve, see cosign_algorithm).
EC_CURVE_ALGORITHMS: dict[str, SignatureAlgorithm] = {
    "secp256r1": SignatureAlgorithm.ECDSA_SHA256,
    "secp384r1": SignatureAlgorithm.ECDSA_SHA384,
    "secp521r1": SignatureAlgorithm.ECDSA_SHA512,
}
# The RSA sizes the Notary Project allows, and the PSS hash each signs with; no other size signs Notary signatures.
NOTARY_RSA_ALGORITHMS: dict[int, SignatureAlgorithm] = {
    2048: SignatureAlgorithm.RSASSA_PSS_SHA256,
    3072: SignatureAlgorithm.RSASSA_PSS_SHA384,
    4096: SignatureAlgorithm.RSASSA_PSS_SHA512,
}
_NOTARY_KEYS = "RSA 2048, 3072 or 4096 (RSASSA-PSS) or EC P-256, P-384 or P-521"


class SignatureFormat(StrEnum):
    """The signature families, each with its own rule for which keys may sign."""

    NOTARY = "notary"  # Notary Project JWS and COSE envelopes
    COSIGN = "cosign"  # cosign simple signing, bundles and DSSE attestations


def load_public_key(spki_der: bytes) -> PublicKeyTypes:
    return serialization.load_der_public_key(spki_der)


def _unsupported_curve(curve: str) -> KeyProviderError:
    return KeyProviderError(f"unsupported elliptic curve {curve}", hint="use a P-256, P-384 or P-521 key")


def _notary_algorithm(public_key: PublicKeyTypes) -> SignatureAlgorithm:
    if isinstance(public_key, rsa.RSAPublicKey):
        size = public_key.key_size
        if size not in NOTARY_RSA_ALGORITHMS:
            raise KeyProviderError(
                f"RSA key of {size} bits is not allowed: Notary Project signing keys are RSA 2048, 3072 or 4096",
                hint="use an RSA 2048/3072/4096 or EC P-256/P-384/P-521 key (`wharfinger keys generate`); "
                f"cosign signatures (--format cosign) accept any RSA key of at least {MIN_RSA_BITS} bits",
            )
        return NOTARY_RSA_ALGORITHMS[size]
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if public_key.curve.name not in EC_CURVE_ALGORITHMS:
            raise _unsupported_curve(public_key.curve.name)
        return EC_CURVE_ALGORITHMS[public_key.curve.name]
    raise KeyProviderError(
        f"{type(public_key).__name__} keys cannot sign Notary Project signatures", hint=f"use {_NOTARY_KEYS}"
    )


def _cosign_checked(public_key: PublicKeyTypes) -> SignatureAlgorithm:
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size < MIN_RSA_BITS:
        raise KeyProviderError(
            f"RSA key of {public_key.key_size} bits is too small",
            hint=f"use an RSA key of at least {MIN_RSA_BITS} bits (3072 recommended)",
        )
    if isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name not in EC_CURVE_ALGORITHMS:
        raise _unsupported_curve(public_key.curve.name)
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise KeyProviderError(
            f"unsupported key type {type(public_key).__name__}",
            hint=f"use an ECDSA (P-256/P-384/P-521), RSA (>= {MIN_RSA_BITS} bits) or Ed25519 key",
        )
    return cosign_algorithm(public_key)


def signing_algorithm(public_key: PublicKeyTypes, signature_format: SignatureFormat) -> SignatureAlgorithm:
    """The algorithm ``signature_format`` signs with for this key; KeyProviderError when the format refuses it."""
    if signature_format is SignatureFormat.NOTARY:
        return _notary_algorithm(public_key)
    return _cosign_checked(public_key)


def spec_algorithm(spec: KeySpec, signature_format: SignatureFormat) -> SignatureAlgorithm:
    """``signing_algorithm`` for an opened signer's key."""
    return signing_algorithm(load_public_key(spec.public_key_der), signature_format)


def default_algorithm(public_key: PublicKeyTypes) -> SignatureAlgorithm:
    """What a provider signs with when nobody asked: the Notary Project's algorithm for the key, or for a key
    only cosign accepts (RSA of another size >= 2048, Ed25519) cosign's. Refuses what neither accepts."""
    try:
        return _notary_algorithm(public_key)
    except KeyProviderError:
        return _cosign_checked(public_key)


def cosign_algorithm(public_key: PublicKeyTypes) -> SignatureAlgorithm:
    """What cosign signs with: SHA-256 on every curve, RSA with PKCS#1 v1.5 (no size check: verifiers use it too)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return SignatureAlgorithm.RSASSA_PKCS1V15_SHA256
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return SignatureAlgorithm.ED25519
    return SignatureAlgorithm.ECDSA_SHA256


def hash_for(algorithm: SignatureAlgorithm) -> hashes.HashAlgorithm | None:
    """The digest an algorithm signs over; None for Ed25519, which hashes internally."""
    return {
        SignatureAlgorithm.RSASSA_PSS_SHA256: hashes.SHA256(),
        SignatureAlgorithm.RSASSA_PSS_SHA384: hashes.SHA384(),
        SignatureAlgorithm.RSASSA_PSS_SHA512: hashes.SHA512(),
        SignatureAlgorithm.ECDSA_SHA256: hashes.SHA256(),
        SignatureAlgorithm.ECDSA_SHA384: hashes.SHA384(),
        SignatureAlgorithm.ECDSA_SHA512: hashes.SHA512(),
        SignatureAlgorithm.RSASSA_PKCS1V15_SHA256: hashes.SHA256(),
        SignatureAlgorithm.ED25519: None,
    }[algorithm]


def verify_raw(public_key: PublicKeyTypes, algorithm: SignatureAlgorithm, signature: bytes, payload: bytes) -> bool:
    """True when ``signature`` (DER for ECDSA) is valid for ``payload`` under ``algorithm``."""
    digest = hash_for(algorithm)
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey) and digest is not None:
            public_key.verify(signature, payload, ec.ECDSA(digest))
        elif isinstance(public_key, rsa.RSAPublicKey) and digest is not None:
            pad: padding.AsymmetricPadding = (
                padding.PKCS1v15()
                if algorithm is SignatureAlgorithm.RSASSA_PKCS1V15_SHA256
                else padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
            )
            public_key.verify(signature, payload, pad, digest)
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, payload)
        else:
            return False
    except InvalidSignature:
        return False
    return True
