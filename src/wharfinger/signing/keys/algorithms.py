"""Which signature algorithm a public key implies, and how to verify with it.

One place for the mapping so every provider and envelope agrees. RSA follows the Notary
Project rule (hash strength by key size, RSASSA-PSS); cosign's RSA keys use PKCS#1 v1.5,
which a caller asks for explicitly.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from wharfinger.errors import KeyProviderError
from wharfinger.signing.keys.signer import SignatureAlgorithm

__all__ = [
    "EC_CURVE_ALGORITHMS",
    "MIN_RSA_BITS",
    "NOTARY_RSA_ALGORITHMS",
    "default_algorithm",
    "hash_for",
    "load_public_key",
    "verify_raw",
]

MIN_RSA_BITS = 2048  # Notary Project and cosign both refuse smaller RSA keys

# The one table of curve -> algorithm (Notary Project's; cosign overrides the hash, see cosign_algorithm).
EC_CURVE_ALGORITHMS: dict[str, SignatureAlgorithm] = {
    "secp256r1": SignatureAlgorithm.ECDSA_SHA256,
    "secp384r1": SignatureAlgorithm.ECDSA_SHA384,
    "secp521r1": SignatureAlgorithm.ECDSA_SHA512,
}
# The RSA sizes the Notary Project allows, and the PSS hash each signs with.
NOTARY_RSA_ALGORITHMS: dict[int, SignatureAlgorithm] = {
    2048: SignatureAlgorithm.RSASSA_PSS_SHA256,
    3072: SignatureAlgorithm.RSASSA_PSS_SHA384,
    4096: SignatureAlgorithm.RSASSA_PSS_SHA512,
}


def load_public_key(spki_der: bytes) -> PublicKeyTypes:
    return serialization.load_der_public_key(spki_der)


def default_algorithm(public_key: PublicKeyTypes) -> SignatureAlgorithm:
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        try:
            return EC_CURVE_ALGORITHMS[public_key.curve.name]
        except KeyError:
            raise KeyProviderError(
                f"unsupported elliptic curve {public_key.curve.name}",
                hint="use a P-256, P-384 or P-521 key",
            ) from None
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise KeyProviderError(
                f"RSA key of {public_key.key_size} bits is too small",
                hint=f"use an RSA key of at least {MIN_RSA_BITS} bits (3072 recommended)",
            )
        if public_key.key_size >= 4096:  # noqa: PLR2004 -- Notary Project: RSA 4096 signs with SHA-512
            return SignatureAlgorithm.RSASSA_PSS_SHA512
        if public_key.key_size >= 3072:  # noqa: PLR2004 -- Notary Project: RSA 3072 signs with SHA-384
            return SignatureAlgorithm.RSASSA_PSS_SHA384
        return SignatureAlgorithm.RSASSA_PSS_SHA256
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return SignatureAlgorithm.ED25519
    raise KeyProviderError(
        f"unsupported key type {type(public_key).__name__}",
        hint="use an ECDSA (P-256/P-384/P-521), RSA (>= 2048 bits) or Ed25519 key",
    )


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
