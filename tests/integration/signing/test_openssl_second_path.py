"""Signatures, chains and timestamps we produce, checked by a second, independent implementation: openssl.

`notation` is not packaged for Debian bookworm; openssl verifies each cryptographic layer instead:
the JWS/COSE signature over the exact signing input (recomputed here, not taken from our code), the
certificate chain, and the RFC 3161 token over the signature value.
"""

from __future__ import annotations

import base64
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from tsa_server import running_tsa

from wharfinger.signing.keys.file import FileSigner
from wharfinger.signing.keys.generate import KeyType, generate_identity
from wharfinger.signing.notary.http import HttpTimestamper
from wharfinger.signing.notary.model import TargetDescriptor
from wharfinger.signing.notary.sign import build_cose_envelope, build_jws_envelope

TARGET = TargetDescriptor(media_type="application/vnd.oci.image.manifest.v1+json", digest="sha256:" + "cd" * 32, size=7)
NOW = datetime.now(UTC)


def _identity(tmp_path: Path, key_type: KeyType):
    root = generate_identity(subject="CN=Root,O=Acme,ST=WA,C=US", now=NOW, ca=True, key_type=key_type)
    ca = generate_identity(subject="CN=CA,O=Acme,ST=WA,C=US", now=NOW, ca=True, issuer=root, key_type=key_type)
    leaf = generate_identity(subject="CN=ci,O=Acme,ST=WA,C=US", now=NOW, issuer=ca, key_type=key_type)
    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(root.chain[0].public_bytes(pem))
    (tmp_path / "ca.pem").write_bytes(ca.chain[0].public_bytes(pem))
    (tmp_path / "leaf.pem").write_bytes(leaf.chain[0].public_bytes(pem))
    (tmp_path / "pub.pem").write_bytes(
        leaf.chain[0].public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return FileSigner.from_pem(leaf.private_key_pem(), key_id="k", chain_pem=leaf.chain_pem())


def _openssl_verify(tmp_path: Path, data: bytes, signature: bytes, key_type: KeyType) -> str:
    (tmp_path / "data.bin").write_bytes(data)
    digest = {"ec-p256": "sha256", "ec-p384": "sha384", "rsa-2048": "sha256", "rsa-3072": "sha384"}[key_type.value]
    if key_type.value.startswith("ec-"):
        half = len(signature) // 2
        signature = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
        options: list[str] = []
    else:
        options = ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"]
    (tmp_path / "sig.bin").write_bytes(signature)
    done = subprocess.run(
        ["openssl", "dgst", f"-{digest}", *options, "-verify", str(tmp_path / "pub.pem"), "-signature",
         str(tmp_path / "sig.bin"), str(tmp_path / "data.bin")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip()


def _b64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@pytest.mark.parametrize("key_type", [KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_2048, KeyType.RSA_3072])
def test_openssl_verifies_our_jws_and_cose(tmp_path, key_type) -> None:
    signer = _identity(tmp_path, key_type)
    jws = json.loads(build_jws_envelope(TARGET, signer, NOW))
    signing_input = f"{jws['protected']}.{jws['payload']}".encode()  # RFC 7515 §5.1, rebuilt here
    assert _openssl_verify(tmp_path, signing_input, _b64url(jws["signature"]), key_type) == "Verified OK"
    assert _openssl_verify(tmp_path, signing_input + b"x", _b64url(jws["signature"]), key_type) != "Verified OK"
    cose = cbor2.loads(build_cose_envelope(TARGET, signer, NOW))
    protected, _unprotected, payload, signature = cose.value
    sig_structure = cbor2.dumps(["Signature1", protected, b"", payload])  # RFC 9052 §4.4, rebuilt here
    assert _openssl_verify(tmp_path, sig_structure, signature, key_type) == "Verified OK"


def test_openssl_accepts_our_certificate_chain(tmp_path) -> None:
    _identity(tmp_path, KeyType.EC_P256)
    done = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-CAfile", str(tmp_path / "root.pem"), "-untrusted",
         str(tmp_path / "ca.pem"), str(tmp_path / "leaf.pem")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.stdout.strip().endswith(": OK"), done.stdout + done.stderr


def test_openssl_verifies_our_timestamp_token(tmp_path) -> None:
    signer = _identity(tmp_path, KeyType.EC_P256)
    with running_tsa(tmp_path, now=NOW) as tsa:
        jws = json.loads(build_jws_envelope(TARGET, signer, NOW, timestamp=HttpTimestamper(tsa.url)))
    token = base64.b64decode(jws["header"]["io.cncf.notary.timestampSignature"])
    (tmp_path / "token.der").write_bytes(token)
    (tmp_path / "signature.bin").write_bytes(_b64url(jws["signature"]))
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-token_in", "-in", str(tmp_path / "token.der"), "-data",
         str(tmp_path / "signature.bin"), "-CAfile", str(tsa.root_pem)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "Verification: OK" in done.stdout, done.stdout + done.stderr
