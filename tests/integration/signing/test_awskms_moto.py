"""The AWS KMS provider through the real boto3 against moto's KMS server on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives import serialization

from wharfinger.errors import InputError, KeyProviderError
from wharfinger.signing.keys.algorithms import verify_raw
from wharfinger.signing.keys.awskms import AwsKmsSigner, parse_awskms_uri
from wharfinger.signing.keys.signer import SignatureAlgorithm


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def kms_endpoint() -> Iterator[str]:
    port = _free_port()
    moto = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("moto_server did not start")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def aws_env(kms_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", kms_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return kms_endpoint


def _create_key(spec: str, alias: str) -> str:
    kms = boto3.client("kms")
    key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=f"alias/{alias}", TargetKeyId=key_id)
    return str(key_id)


# RSA-PSS is left out: moto pads with the maximum salt length where KMS (and the Notary Project
# spec) use a salt as long as the hash, so moto's PSS signatures are not what KMS would return.
@pytest.mark.parametrize(
    ("spec", "algorithm", "requested"),
    [
        ("ECC_NIST_P256", SignatureAlgorithm.ECDSA_SHA256, None),
        ("ECC_NIST_P384", SignatureAlgorithm.ECDSA_SHA384, None),
        ("RSA_2048", SignatureAlgorithm.RSASSA_PKCS1V15_SHA256, SignatureAlgorithm.RSASSA_PKCS1V15_SHA256),
    ],
)
def test_kms_signature_verifies_with_the_kms_public_key(
    aws_env: str, spec: str, algorithm: SignatureAlgorithm, requested: SignatureAlgorithm | None
) -> None:
    alias = f"wharfinger-{spec.lower()}"
    _create_key(spec, alias)
    signer = AwsKmsSigner(parse_awskms_uri(f"awskms:///alias/{alias}"), algorithm=requested)
    assert signer.key().algorithm is algorithm
    public = serialization.load_der_public_key(boto3.client("kms").get_public_key(KeyId=f"alias/{alias}")["PublicKey"])
    # A Notary payload's size. (moto does not implement MessageType=DIGEST, used above 4 KiB.)
    payload = b'{"targetArtifact":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":1234}}' * 10
    signature = signer.sign(payload)
    assert verify_raw(public, algorithm, signature, payload)
    assert not verify_raw(public, algorithm, signature, payload[:-1])


def test_missing_key_names_the_key_and_the_fix(aws_env: str) -> None:
    with pytest.raises(KeyProviderError, match="NotFoundException") as info:
        AwsKmsSigner(parse_awskms_uri("awskms:///alias/does-not-exist"))
    assert "alias/does-not-exist" in info.value.message
    assert info.value.hint


def test_encryption_key_is_not_a_signing_key(aws_env: str) -> None:
    kms = boto3.client("kms")
    key_id = kms.create_key(KeyUsage="ENCRYPT_DECRYPT", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    with pytest.raises(KeyProviderError, match="not a signing key"):
        AwsKmsSigner(parse_awskms_uri(f"awskms:///{key_id}"))


@pytest.mark.parametrize(
    "uri",
    ["awskms://", "awskms://host-only", "gcpkms://x/y", "awskms:///alias/x?region=us", "awskms:///alias/x?cert="],
)
def test_malformed_uris(uri: str) -> None:
    with pytest.raises(InputError):
        parse_awskms_uri(uri)


def test_uri_with_endpoint() -> None:
    parsed = parse_awskms_uri("awskms://kms.local:4566/arn:aws:kms:eu-west-1:111:key/abc")
    assert parsed.endpoint == "kms.local:4566"
    assert parsed.key_id == "arn:aws:kms:eu-west-1:111:key/abc"


def test_uri_with_certificate_chain() -> None:
    parsed = parse_awskms_uri("awskms:///alias/release?cert=/keys/release.crt")
    assert parsed.key_id == "alias/release"
    assert parsed.certificate_path == "/keys/release.crt"
    assert str(parsed) == "awskms:///alias/release"
