"""What a certificate may do in a Sigstore chain: leaf (code signing) or CA, by its extensions.

The rules follow the X.509 profile Fulcio certificates use (and sigstore-python enforces):
a CA has critical Basic Constraints with ``ca=True`` and Key Usage ``keyCertSign``; a leaf is
not a CA, has Key Usage ``digitalSignature`` and Extended Key Usage ``codeSigning``. A
certificate that breaks them is invalid, never silently treated as either.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID

from wharfinger.signing.notary.chain import is_self_signed

__all__ = [
    "MAX_CHAIN_LENGTH",
    "CertificateRole",
    "InvalidCertificateError",
    "certificate_role",
    "check_chain",
    "require_ca",
]

MAX_CHAIN_LENGTH = 5  # certificates between the leaf and the root, inclusive


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


def certificate_role(cert: x509.Certificate) -> CertificateRole:
    if _is_ca(cert):
        return CertificateRole.ROOT if is_self_signed(cert) else CertificateRole.CA
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


def check_chain(
    leaf: x509.Certificate, intermediates: Sequence[x509.Certificate], roots: Sequence[x509.Certificate]
) -> None:
    """Raise unless ``leaf`` is a code-signing leaf that chains, through CAs, to one of ``roots``.

    ``roots`` may hold a trusted root's intermediates too (a Sigstore trusted root lists each
    Fulcio chain whole): reaching any trusted certificate ends the path.
    """
    try:
        role = certificate_role(leaf)
    except InvalidCertificateError as exc:
        raise InvalidCertificateError(f"the signing certificate is not a code-signing leaf ({exc})") from exc
    if role is not CertificateRole.LEAF:
        raise InvalidCertificateError("the signing certificate is a CA, not a code-signing leaf")
    pool = [*intermediates, *roots]
    current = leaf
    for _ in range(MAX_CHAIN_LENGTH):
        if any(current == root for root in roots):
            return
        issuer_cert = next((c for c in pool if c.subject == current.issuer and _signed_by(current, c)), None)
        if issuer_cert is None or issuer_cert == current:  # no issuer, or a self-signed root we do not trust
            raise InvalidCertificateError("the certificate does not chain to a trusted Fulcio root")
        try:
            require_ca(issuer_cert)
        except InvalidCertificateError as exc:
            raise InvalidCertificateError(f"a certificate in the chain is not a valid CA ({exc})") from exc
        if issuer_cert in roots:
            return
        current = issuer_cert
    raise InvalidCertificateError("the certificate chain is too long or loops")


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
