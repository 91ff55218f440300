"""Generate signing keys and X.509 certificates for test pipelines (``wharfinger keys generate``).

Pure apart from the randomness of key generation: the caller passes ``now`` and writes the files.
Certificates follow the Notary Project rules, so what this makes is what the verifier accepts:
leaves have keyUsage digitalSignature (critical) and the codeSigning EKU, CAs have basicConstraints
cA=true (critical) and keyCertSign.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.signer import SignatureAlgorithm, Signer

__all__ = [
    "GeneratedIdentity",
    "KeyType",
    "certify_signer_key",
    "check_validity_days",
    "generate_identity",
    "generate_private_key",
    "parse_subject",
]


class KeyType(StrEnum):
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    EC_P521 = "ec-p521"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
CertifiablePublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey

_ATTRIBUTES = {
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "S": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
}


def parse_subject(text: str) -> x509.Name:
    """``CN=builder,O=Acme,ST=WA,C=US`` to an X.509 name (order as written, most specific first)."""
    from wharfinger.signing.notary.trustpolicy import parse_distinguished_name  # noqa: PLC0415 -- avoid a cycle

    try:
        pairs = parse_distinguished_name(text)
    except ValueError as exc:
        raise InputError(
            f"subject {text!r} is not a distinguished name: {exc}", hint="e.g. CN=ci,O=Acme,ST=WA,C=US"
        ) from exc
    attributes = []
    for name, value in reversed(pairs):  # X.509 stores the least specific RDN (C) first
        if name not in _ATTRIBUTES:
            raise InputError(f"subject attribute {name!r} is not supported", hint="use C, ST, L, O, OU, CN")
        attributes.append(x509.NameAttribute(_ATTRIBUTES[name], value))
    return x509.Name(attributes)


def generate_private_key(key_type: KeyType) -> SigningKey:
    if key_type.startswith("rsa-"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.removeprefix("rsa-")))
    curve = {KeyType.EC_P256: ec.SECP256R1(), KeyType.EC_P384: ec.SECP384R1(), KeyType.EC_P521: ec.SECP521R1()}[
        key_type
    ]
    return ec.generate_private_key(curve)


def _signature_hash(issuer_key: SigningKey) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    if isinstance(issuer_key, ec.EllipticCurvePrivateKey):
        by_size: dict[int, hashes.SHA256 | hashes.SHA384 | hashes.SHA512] = {
            256: hashes.SHA256(),
            384: hashes.SHA384(),
            521: hashes.SHA512(),
        }
        return by_size[issuer_key.curve.key_size]
    return hashes.SHA256() if issuer_key.key_size <= 2048 else hashes.SHA384()  # noqa: PLR2004


@dataclass(frozen=True, slots=True, kw_only=True)
class GeneratedIdentity:
    private_key: SigningKey
    chain: tuple[x509.Certificate, ...]  # leaf first; a CA-issued leaf ends with the CA's chain

    def private_key_pem(self, passphrase: bytes | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        )
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)

    def chain_pem(self) -> bytes:
        return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in self.chain)


def _certificate_builder(
    *,
    subject: str,
    public_key: CertifiablePublicKey,
    now: datetime,
    days: int,
    ca: bool,
    path_length: int | None,
    issuer: GeneratedIdentity | None,
    crl_url: str | None,
    ocsp_url: str | None,
    serial_number: int | None,
) -> x509.CertificateBuilder:
    check_validity_days(days)
    name = parse_subject(subject)
    issuer_name = issuer.chain[0].subject if issuer else name
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial_number or x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.private_key.public_key()), critical=False
        )
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
    if crl_url:
        point = x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None, crl_issuer=None
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    if ocsp_url:
        access = x509.AccessDescription(
            x509.oid.AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder


def generate_identity(
    *,
    subject: str,
    now: datetime,
    key_type: KeyType = KeyType.EC_P256,
    days: int = 365,
    ca: bool = False,
    path_length: int | None = None,
    issuer: GeneratedIdentity | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
    serial_number: int | None = None,
) -> GeneratedIdentity:
    """A new key and certificate: self-signed when ``issuer`` is None, else issued by ``issuer`` (a CA)."""
    key = generate_private_key(key_type)
    signer_key: SigningKey = issuer.private_key if issuer else key
    builder = _certificate_builder(
        subject=subject, public_key=key.public_key(), now=now, days=days, ca=ca, path_length=path_length,
        issuer=issuer, crl_url=crl_url, ocsp_url=ocsp_url, serial_number=serial_number,
    )  # fmt: skip
    certificate = builder.sign(signer_key, _signature_hash(signer_key))
    chain = (certificate, *(issuer.chain if issuer else ()))
    return GeneratedIdentity(private_key=key, chain=chain)


# The algorithm a remote key signs certificates with, and a throwaway local key of the same family whose
# signature algorithm identifier cryptography writes into the TBSCertificate for us.
_REMOTE_CERTIFICATE_ALGORITHMS: dict[SignatureAlgorithm, tuple[str, hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    SignatureAlgorithm.ECDSA_SHA256: ("ec", hashes.SHA256()),
    SignatureAlgorithm.ECDSA_SHA384: ("ec", hashes.SHA384()),
    SignatureAlgorithm.ECDSA_SHA512: ("ec", hashes.SHA512()),
    SignatureAlgorithm.RSASSA_PKCS1V15_SHA256: ("rsa", hashes.SHA256()),
}


def check_validity_days(days: int) -> None:
    if days <= 0:
        raise InputError("certificate validity must be at least one day", hint="pass --days 1 or more")


def certify_signer_key(
    *,
    subject: str,
    signer: Signer,
    now: datetime,
    days: int = 365,
    ca: bool = False,
    issuer: GeneratedIdentity | None = None,
    crl_url: str | None = None,
    ocsp_url: str | None = None,
) -> tuple[x509.Certificate, ...]:
    """A certificate for a key held by a provider (HSM, cloud KMS): issued by ``issuer``, else self-signed.

    A self-signed certificate must be signed by the remote key itself, which ``cryptography``'s builder
    cannot call. So the TBSCertificate is built (and signed) with a throwaway local key of the same
    signature algorithm, then re-signed by ``signer`` and assembled with asn1crypto. For RSA the signer
    must use PKCS#1 v1.5 with SHA-256 (the certificate's algorithm carries no PSS parameters then).
    Returns the chain, leaf first.
    """
    from asn1crypto import x509 as asn1_x509  # noqa: PLC0415 -- only this path needs it

    spec = signer.key()
    public_key = serialization.load_der_public_key(spec.public_key_der)
    if not isinstance(public_key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise InputError(f"cannot certify a {type(public_key).__name__} key", hint="use an ECDSA or RSA key")
    builder = _certificate_builder(
        subject=subject, public_key=public_key, now=now, days=days, ca=ca, path_length=None, issuer=issuer,
        crl_url=crl_url, ocsp_url=ocsp_url, serial_number=None,
    )  # fmt: skip
    if issuer is not None:
        issued = builder.sign(issuer.private_key, _signature_hash(issuer.private_key))
        return (issued, *issuer.chain)
    if spec.algorithm not in _REMOTE_CERTIFICATE_ALGORITHMS:
        raise InputError(
            f"cannot self-sign a certificate with {spec.algorithm.value}",
            hint="open the key with ECDSA or RSASSA-PKCS1-v1_5-SHA-256",
        )
    family, digest = _REMOTE_CERTIFICATE_ALGORITHMS[spec.algorithm]
    throwaway: SigningKey = (
        ec.generate_private_key(ec.SECP256R1())
        if family == "ec"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    draft = builder.sign(throwaway, digest)
    tbs = asn1_x509.TbsCertificate.load(draft.tbs_certificate_bytes)
    certificate = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": tbs["signature"],
            "signature_value": signer.sign(draft.tbs_certificate_bytes),
        }
    )
    leaf = x509.load_der_x509_certificate(certificate.dump())
    try:  # the remote key really made this signature: a wrong key or algorithm must not give a broken certificate
        leaf.verify_directly_issued_by(leaf)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise KeyProviderError(
            f"the self-signed certificate made with {spec.key_id} does not verify: {exc}",
            hint="the provider signed with another key or algorithm than it reported",
        ) from exc
    return (leaf,)
