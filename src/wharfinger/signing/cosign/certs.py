"""What a certificate may do in a Sigstore chain: leaf (code signing) or CA, by its extensions.

The rules follow the X.509 profile Fulcio certificates use (and sigstore-python enforces):
a CA has critical Basic Constraints with ``ca=True`` and Key Usage ``keyCertSign``; a leaf is
not a CA, has Key Usage ``digitalSignature`` and Extended Key Usage ``codeSigning``. A
certificate that breaks them is invalid, never silently treated as either.
"""

from __future__ import annotations

from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

__all__ = ["CertificateRole", "InvalidCertificateError", "certificate_role", "require_ca"]


class CertificateRole(StrEnum):
    LEAF = "leaf"
    CA = "ca"  # an intermediate
    ROOT = "root"  # a self-signed CA


class InvalidCertificateError(ValueError):
    """The certificate's extensions contradict each other or the profile."""


def _extension(cert: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.Extension[x509.ExtensionType] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def _self_signed(cert: x509.Certificate) -> bool:
    """Signed by its own key: a name match alone is not enough (an intermediate may share its root's name)."""
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def certificate_role(cert: x509.Certificate) -> CertificateRole:
    if _is_ca(cert):
        return CertificateRole.ROOT if _self_signed(cert) else CertificateRole.CA
    return CertificateRole.LEAF


def require_ca(cert: x509.Certificate) -> None:
    """Raise unless the certificate may issue others (no signature check: cheap enough for every chain link)."""
    if not _is_ca(cert):
        raise InvalidCertificateError("invalid X.509 certificate: not a CA (Basic Constraints ca=False)")


def _is_ca(cert: x509.Certificate) -> bool:
    """True for a valid CA, False for a valid leaf; raises for anything that is neither."""
    constraints = _extension(cert, x509.BasicConstraints)
    usage = _extension(cert, x509.KeyUsage)
    is_ca = False
    if constraints is not None:
        if not constraints.critical:
            raise InvalidCertificateError("invalid X.509 certificate: Basic Constraints must be critical")
        is_ca = bool(constraints.value.ca)  # type: ignore[attr-defined]
    if is_ca:
        if usage is None or not usage.value.key_cert_sign:  # type: ignore[attr-defined]
            raise InvalidCertificateError("invalid X.509 certificate: a CA must have Key Usage keyCertSign")
        return True
    if usage is None or not usage.value.digital_signature:  # type: ignore[attr-defined]
        raise InvalidCertificateError("invalid X.509 certificate: a leaf must have Key Usage digitalSignature")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if eku is None or ExtendedKeyUsageOID.CODE_SIGNING not in eku.value:  # type: ignore[operator]
        raise InvalidCertificateError("invalid X.509 certificate: a leaf must have Extended Key Usage codeSigning")
    return False
