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
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from wharfinger.errors import InputError

__all__ = ["GeneratedIdentity", "KeyType", "generate_identity", "generate_private_key", "parse_subject"]


class KeyType(StrEnum):
    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    EC_P521 = "ec-p521"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"


SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

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
    if days <= 0:
        raise InputError("certificate validity must be at least one day", hint="pass --days 1 or more")
    key = generate_private_key(key_type)
    name = parse_subject(subject)
    signer_key: SigningKey = issuer.private_key if issuer else key
    issuer_name = issuer.chain[0].subject if issuer else name
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial_number or x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
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
    certificate = builder.sign(signer_key, _signature_hash(signer_key))
    chain = (certificate, *(issuer.chain if issuer else ()))
    return GeneratedIdentity(private_key=key, chain=chain)
