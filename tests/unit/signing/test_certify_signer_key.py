"""``certify_signer_key``: certificates for keys a provider holds, the TBS re-signed by the signer itself.

The signer here is the file provider's (a real ``Signer``); the PKCS#11 path is in
tests/integration/signing/test_pkcs11_generate_cli.py.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.file import open_file_signer
from wharfinger.signing.keys.generate import certify_signer_key
from wharfinger.signing.keys.signer import KeySpec, SignatureAlgorithm

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _key_file(path: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return str(path)


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [
        (ec.generate_private_key(ec.SECP384R1()), None),
        (rsa.generate_private_key(public_exponent=65537, key_size=3072), SignatureAlgorithm.RSASSA_PKCS1V15_SHA256),
    ],
)
def test_self_signed_by_the_signer_verifies_with_openssl(tmp_path: Path, key, algorithm) -> None:
    signer = open_file_signer(_key_file(tmp_path / "k.pem", key), {}, algorithm=algorithm)
    (leaf,) = certify_signer_key(subject="CN=hsm,O=Acme,C=US", signer=signer, now=NOW, days=30)
    assert leaf.public_key().public_numbers() == key.public_key().public_numbers()
    assert leaf.subject == leaf.issuer
    assert leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [x509.oid.ExtendedKeyUsageOID.CODE_SIGNING]
    )
    pem = tmp_path / "leaf.crt"
    pem.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    checked = subprocess.run(["openssl", "verify", "-check_ss_sig", "-CAfile", str(pem), str(pem)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stderr


class _SignsWithAnotherKey:
    """A provider that reports one key and signs with another: what a mislabelled HSM object looks like."""

    def __init__(self, reported: ec.EllipticCurvePrivateKey, actual: ec.EllipticCurvePrivateKey) -> None:
        self._reported, self._actual = reported, actual

    def key(self) -> KeySpec:
        spki = self._reported.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return KeySpec(key_id="mislabelled", algorithm=SignatureAlgorithm.ECDSA_SHA256, public_key_der=spki)

    def sign(self, payload: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes

        return self._actual.sign(payload, ec.ECDSA(hashes.SHA256()))


def test_a_signature_by_another_key_is_refused() -> None:
    signer = _SignsWithAnotherKey(ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(KeyProviderError, match="does not verify"):
        certify_signer_key(subject="CN=hsm", signer=signer, now=NOW)


def test_rsa_pss_cannot_self_sign_a_certificate(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = open_file_signer(_key_file(tmp_path / "k.pem", key), {})  # the Notary default: PSS
    with pytest.raises(InputError, match="cannot self-sign"):
        certify_signer_key(subject="CN=hsm", signer=signer, now=NOW)
