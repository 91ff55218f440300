"""X.509 rules of the Notary Project signature specification ("Certificate Requirements").

Pure functions over parsed certificates. Each problem raises ``ChainError`` with a reason and a
message naming the certificate, so a user can tell which certificate to replace.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID

from wharfinger.signing.keys.algorithms import EC_CURVE_ALGORITHMS, MIN_RSA_BITS
from wharfinger.signing.notary.model import FailureReason

__all__ = [
    "CertificatePurpose",
    "ChainError",
    "check_validity_at",
    "check_validity_range",
    "describe",
    "is_self_signed",
    "load_certificates",
    "parse_certificate",
    "validate_chain",
]


class CertificatePurpose(StrEnum):
    CODE_SIGNING = "code signing"
    TIMESTAMPING = "timestamping"


class ChainError(Exception):
    def __init__(self, message: str, *, reason: FailureReason = FailureReason.INVALID_CERTIFICATE_CHAIN) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def describe(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or f"serial {cert.serial_number}"


def parse_certificate(der: bytes) -> x509.Certificate:
    """A DER certificate, fully decoded now: cryptography parses keys and extensions lazily, and a
    hostile certificate must fail here with ValueError, not later in the middle of a check."""
    try:
        with warnings.catch_warnings():
            # e.g. a negative serial number: RFC 5280 forbids it, cryptography only warns (for now)
            warnings.simplefilter("error", CryptographyDeprecationWarning)
            cert = x509.load_der_x509_certificate(der)
            cert.public_key()
            _ = cert.extensions, cert.subject, cert.issuer, cert.not_valid_after_utc
    except (UnsupportedAlgorithm, x509.InvalidVersion) as exc:
        raise ValueError(f"unsupported key, algorithm or version: {exc}") from exc
    except x509.DuplicateExtension as exc:  # not a ValueError; found by the timestamp-token fuzz test
        raise ValueError(str(exc)) from exc
    except CryptographyDeprecationWarning as exc:
        raise ValueError(str(exc)) from exc
    return cert


def load_certificates(ders: Sequence[bytes]) -> tuple[x509.Certificate, ...]:
    certs = []
    for index, der in enumerate(ders):
        try:
            certs.append(parse_certificate(der))
        except ValueError as exc:
            raise ChainError(f"certificate {index} of the chain is not a usable X.509 certificate: {exc}") from exc
    return tuple(certs)


_ALLOWED_CERT_HASHES = (hashes.SHA256, hashes.SHA384, hashes.SHA512)
_FORBIDDEN_CODE_SIGNING_EKUS = {
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
}


def _check_algorithms(cert: x509.Certificate) -> None:
    name = describe(cert)
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm as exc:
        raise ChainError(
            f"certificate {name!r} uses an unsupported signature algorithm: {exc}", reason=FailureReason.WEAK_KEY
        ) from exc
    if isinstance(algorithm, hashes.SHA1 | hashes.MD5) or not isinstance(algorithm, _ALLOWED_CERT_HASHES):
        hash_name = algorithm.name if algorithm is not None else "none"
        raise ChainError(
            f"certificate {name!r} is signed with {hash_name}; SHA-1 and weaker are refused (SHA-256/384/512 only)",
            reason=FailureReason.WEAK_KEY,
        )
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        # Certificates (CAs included) follow the spec's certificate rule, a floor; signing keys have exact sizes.
        if key.key_size < MIN_RSA_BITS:
            raise ChainError(
                f"certificate {name!r} has an RSA key of {key.key_size} bits; at least {MIN_RSA_BITS} are required",
                reason=FailureReason.WEAK_KEY,
            )
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_CURVE_ALGORITHMS:
            raise ChainError(
                f"certificate {name!r} uses curve {key.curve.name}; only P-256, P-384 and P-521 are allowed",
                reason=FailureReason.WEAK_KEY,
            )
    else:
        raise ChainError(f"certificate {name!r} has a {type(key).__name__}, which the spec does not allow")


_Ext = TypeVar("_Ext", bound=x509.ExtensionType)


def _extension(cert: x509.Certificate, kind: type[_Ext]) -> x509.Extension[_Ext] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _check_leaf(cert: x509.Certificate, purpose: CertificatePurpose) -> None:
    name = describe(cert)
    bc = _extension(cert, x509.BasicConstraints)
    if bc is not None and bc.value.ca:
        raise ChainError(f"{purpose} certificate {name!r} is a CA (basicConstraints cA=true); a leaf must not be")
    ku = _extension(cert, x509.KeyUsage)
    if ku is None:
        raise ChainError(f"{purpose} certificate {name!r} has no keyUsage extension; digitalSignature is required")
    if purpose is CertificatePurpose.CODE_SIGNING and not ku.critical:
        raise ChainError(f"code signing certificate {name!r} must mark keyUsage critical")
    usage = ku.value
    if not usage.digital_signature:
        raise ChainError(f"{purpose} certificate {name!r} lacks the digitalSignature key usage")
    forbidden = [
        label
        for label, present in (
            ("keyEncipherment", usage.key_encipherment),
            ("dataEncipherment", usage.data_encipherment),
            ("keyAgreement", usage.key_agreement),
            ("keyCertSign", usage.key_cert_sign),
            ("cRLSign", usage.crl_sign),
            ("encipherOnly", usage.key_agreement and usage.encipher_only),
            ("decipherOnly", usage.key_agreement and usage.decipher_only),
        )
        if present
    ]
    if forbidden:
        raise ChainError(f"{purpose} certificate {name!r} has key usages it must not have: {', '.join(forbidden)}")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if purpose is CertificatePurpose.CODE_SIGNING:
        if eku is not None:
            bad = [label for oid, label in _FORBIDDEN_CODE_SIGNING_EKUS.items() if oid in eku.value]
            if bad:
                raise ChainError(
                    f"code signing certificate {name!r} has extended key usages it must not have: {', '.join(bad)}"
                )
    else:
        if eku is None or list(eku.value) != [ExtendedKeyUsageOID.TIME_STAMPING]:
            raise ChainError(f"timestamping certificate {name!r} must have exactly the timeStamping extended key usage")
        if not eku.critical:
            raise ChainError(f"timestamping certificate {name!r} must mark extendedKeyUsage critical")


def _check_ca(cert: x509.Certificate, purpose: CertificatePurpose, cas_below: int) -> None:
    name = describe(cert)
    bc = _extension(cert, x509.BasicConstraints)
    if bc is None or not bc.value.ca:
        raise ChainError(f"certificate {name!r} issues others but is not a CA (basicConstraints cA=true missing)")
    if not bc.critical:
        raise ChainError(f"CA certificate {name!r} must mark basicConstraints critical")
    if bc.value.path_length is not None and cas_below > bc.value.path_length:
        raise ChainError(
            f"CA certificate {name!r} allows {bc.value.path_length} intermediate CA(s) below it but the chain has "
            f"{cas_below}"
        )
    ku = _extension(cert, x509.KeyUsage)
    if ku is None or not ku.value.key_cert_sign:
        raise ChainError(f"CA certificate {name!r} lacks the keyCertSign key usage")
    if purpose is CertificatePurpose.CODE_SIGNING and not ku.critical:
        raise ChainError(f"CA certificate {name!r} must mark keyUsage critical")


def is_self_signed(cert: x509.Certificate) -> bool:
    """Issued by itself: same names and signed by its own key (a name match alone is not enough)."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def validate_chain(chain: Sequence[x509.Certificate], purpose: CertificatePurpose) -> None:
    """Validate an ordered chain (leaf first, root last) against the spec's certificate requirements."""
    if not chain:
        raise ChainError("the certificate chain is empty")
    seen: set[bytes] = set()
    for cert in chain:
        fingerprint = cert.fingerprint(hashes.SHA256())
        if fingerprint in seen:
            raise ChainError(f"the certificate chain loops: {describe(cert)!r} appears twice")
        seen.add(fingerprint)
        _check_algorithms(cert)
    leaf = chain[0]
    if len(chain) == 1:
        if not is_self_signed(leaf):
            raise ChainError(
                f"the chain has a single certificate {describe(leaf)!r} that is not self-signed; the envelope must "
                "carry the full chain up to the root"
            )
        _check_leaf(leaf, purpose)
        return
    _check_leaf(leaf, purpose)
    for index in range(len(chain) - 1):
        child, parent = chain[index], chain[index + 1]
        if index > 0 and is_self_signed(child):
            raise ChainError(f"self-signed certificate {describe(child)!r} appears before the end of the chain")
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm) as exc:
            raise ChainError(
                f"certificate {describe(child)!r} is not issued by the next certificate {describe(parent)!r} "
                f"in the chain ({exc or 'signature mismatch'})"
            ) from exc
        _check_ca(parent, purpose, cas_below=index)
    root = chain[-1]
    if not is_self_signed(root):
        raise ChainError(f"the last certificate {describe(root)!r} is not a self-signed root; the chain is incomplete")


def check_validity_at(chain: Sequence[x509.Certificate], moment: datetime) -> str | None:
    """A message naming the first certificate not valid at ``moment``, or None."""
    for cert in chain:
        if moment < cert.not_valid_before_utc:
            return (
                f"certificate {describe(cert)!r} is not yet valid at {moment.isoformat()}: valid from "
                f"{cert.not_valid_before_utc.isoformat()}"
            )
        if moment > cert.not_valid_after_utc:
            return f"certificate {describe(cert)!r} expired at {cert.not_valid_after_utc.isoformat()}"
    return None


def check_validity_range(chain: Sequence[x509.Certificate], lower: datetime, upper: datetime) -> str | None:
    for cert in chain:
        if lower < cert.not_valid_before_utc:
            return (
                f"timestamp range starting {lower.isoformat()} is before certificate {describe(cert)!r} validity "
                f"period, it will be valid from {cert.not_valid_before_utc.isoformat()}"
            )
        if upper > cert.not_valid_after_utc:
            return (
                f"timestamp range ending {upper.isoformat()} is after certificate {describe(cert)!r} validity "
                f"period, it was expired at {cert.not_valid_after_utc.isoformat()}"
            )
    return None
