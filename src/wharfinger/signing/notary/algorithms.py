"""Signature algorithms of the Notary Project: the key decides the algorithm, never the envelope.

The signing certificate's public key type and size select exactly one algorithm (spec "Algorithm
Selection"); an envelope whose ``alg`` says otherwise is rejected (no algorithm confusion).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509 import Certificate

from wharfinger.errors import KeyProviderError
from wharfinger.signing.keys.algorithms import SignatureFormat, signing_algorithm
from wharfinger.signing.keys.signer import SignatureAlgorithm

__all__ = [
    "AlgorithmInfo",
    "algorithm_for_key",
    "der_to_raw_ecdsa",
    "info_for",
    "verify_signature",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class AlgorithmInfo:
    algorithm: SignatureAlgorithm
    jws_name: str
    cose_id: int
    hash_name: str  # "sha256" | "sha384" | "sha512"
    ec_coordinate_bytes: int = 0  # size of r and s in the raw JWS/COSE ECDSA form

    def hash(self) -> hashes.HashAlgorithm:
        return _HASHES[self.hash_name]()


_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}

_INFOS = (
    AlgorithmInfo(algorithm=SignatureAlgorithm.RSASSA_PSS_SHA256, jws_name="PS256", cose_id=-37, hash_name="sha256"),
    AlgorithmInfo(algorithm=SignatureAlgorithm.RSASSA_PSS_SHA384, jws_name="PS384", cose_id=-38, hash_name="sha384"),
    AlgorithmInfo(algorithm=SignatureAlgorithm.RSASSA_PSS_SHA512, jws_name="PS512", cose_id=-39, hash_name="sha512"),
    AlgorithmInfo(
        algorithm=SignatureAlgorithm.ECDSA_SHA256,
        jws_name="ES256",
        cose_id=-7,
        hash_name="sha256",
        ec_coordinate_bytes=32,
    ),
    AlgorithmInfo(
        algorithm=SignatureAlgorithm.ECDSA_SHA384,
        jws_name="ES384",
        cose_id=-35,
        hash_name="sha384",
        ec_coordinate_bytes=48,
    ),
    AlgorithmInfo(
        algorithm=SignatureAlgorithm.ECDSA_SHA512,
        jws_name="ES512",
        cose_id=-36,
        hash_name="sha512",
        ec_coordinate_bytes=66,
    ),
)
_BY_ALGORITHM = {i.algorithm: i for i in _INFOS}
BY_JWS_NAME = {i.jws_name: i for i in _INFOS}
BY_COSE_ID = {i.cose_id: i for i in _INFOS}


class UnsupportedKeyError(ValueError):
    """The key's type or size has no Notary Project signature algorithm (e.g. RSA 1024, P-224, Ed25519)."""


def info_for(algorithm: SignatureAlgorithm) -> AlgorithmInfo:
    try:
        return _BY_ALGORITHM[algorithm]
    except KeyError:
        raise UnsupportedKeyError(f"{algorithm} is not a Notary Project signature algorithm") from None


def algorithm_for_key(public_key: PublicKeyTypes) -> AlgorithmInfo:
    """The one algorithm the spec allows for this public key (the rule lives in ``signing.keys.algorithms``)."""
    try:
        return _BY_ALGORITHM[signing_algorithm(public_key, SignatureFormat.NOTARY)]
    except KeyProviderError as exc:
        raise UnsupportedKeyError(exc.message) from None


def certificate_algorithm(certificate: Certificate) -> AlgorithmInfo:
    return algorithm_for_key(certificate.public_key())


def der_to_raw_ecdsa(der: bytes, info: AlgorithmInfo) -> bytes:
    r, s = decode_dss_signature(der)
    n = info.ec_coordinate_bytes
    return r.to_bytes(n, "big") + s.to_bytes(n, "big")


def verify_signature(public_key: object, info: AlgorithmInfo, signature: bytes, data: bytes) -> bool:
    """Verify a JWS/COSE signature value (ECDSA in raw r||s form). False on any mismatch."""
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(
                signature,
                data,
                padding.PSS(mgf=padding.MGF1(info.hash()), salt_length=padding.PSS.DIGEST_LENGTH),
                info.hash(),
            )
            return True
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            n = info.ec_coordinate_bytes
            if len(signature) != 2 * n:
                return False
            r = int.from_bytes(signature[:n], "big")
            s = int.from_bytes(signature[n:], "big")
            public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(info.hash()))
            return True
    except InvalidSignature:
        return False
    return False
