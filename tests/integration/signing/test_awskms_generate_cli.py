"""``wharfinger keys generate --provider awskms`` through the real boto3 against moto's KMS server on loopback:
the key is made in KMS and certifies itself (openssl checks the self-signature)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import boto3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from notary_fixtures import push_sign_and_verify

# aws_env sets AWS_ENDPOINT_URL and credentials in this process; run_cli hands os.environ to the CLI
from test_awskms_moto import aws_env, kms_endpoint  # noqa: F401 -- the moto server fixtures

from wharfinger.cli.exitcodes import ExitCode

SUBJECT = "CN=ci,O=Acme,ST=WA,C=US"


# EC only: moto's RSA-PSS salt deviates from KMS; RSA self-signatures use PKCS#1 v1.5 (see test_awskms_moto.py).
@pytest.mark.parametrize(("alias", "key_type", "curve"), [("gen-p256", "ec-p256", "secp256r1"),
                                                          ("gen-p384", "ec-p384", "secp384r1")])  # fmt: skip
def test_generated_kms_key_is_certified_by_itself_and_signs(
    aws_env: str,  # noqa: F811
    registry_plain,
    run_cli,
    tmp_path: Path,
    alias: str,
    key_type: str,
    curve: str,
) -> None:
    made = run_cli("keys", "generate", alias, "--provider", "awskms", "--key-uri", f"awskms:///alias/{alias}",
                   "--key-type", key_type, "--subject", SUBJECT, "--out", str(tmp_path), "--trust-store",
                   str(tmp_path / "truststore"), "--store-name", "acme")  # fmt: skip
    assert made.returncode == 0, made.stderr
    key_uri, cert_path = made.stdout.split()
    assert key_uri == f"awskms:///alias/{alias}?cert={cert_path}"
    assert "stores no certificates" in made.stderr
    certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    kms = boto3.client("kms")
    described = kms.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"]
    assert described["KeyUsage"] == "SIGN_VERIFY"
    kms_public = kms.get_public_key(KeyId=f"alias/{alias}")["PublicKey"]
    assert (
        certificate.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        == kms_public
    )
    assert certificate.public_key().curve.name == curve  # type: ignore[union-attr]
    checked = subprocess.run(["openssl", "verify", "-CAfile", cert_path, "-check_ss_sig",
                              cert_path], capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # KMS signs a Notary envelope carrying the generated chain; the verifier trusts it through the trust store
    _, report = push_sign_and_verify(
        run_cli, registry_plain, f"kms/{alias}", key_uri=key_uri, trust_store=tmp_path / "truststore", work=tmp_path
    )
    assert report["verified"] is True

    # the alias is taken now: a second run is refused and leaves the first key where it was
    keys_before = len(kms.list_keys()["Keys"])
    again = run_cli("keys", "generate", alias, "--provider", "awskms", "--key-uri", f"awskms:///alias/{alias}",
                    "--subject", SUBJECT, "--out", str(tmp_path / "again"))  # fmt: skip
    assert again.returncode == ExitCode.INPUT, again.stderr
    assert "already names a key" in again.stderr
    assert "Traceback" not in again.stderr
    assert len(kms.list_keys()["Keys"]) == keys_before
    assert kms.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"]["KeyId"] == described["KeyId"]


def test_kms_key_issued_by_a_file_ca(aws_env: str, run_cli, tmp_path: Path) -> None:  # noqa: F811
    ca = run_cli("keys", "generate", "ca", "--subject", "CN=Acme CA,O=Acme,ST=WA,C=US", "--ca", "--out",
                 str(tmp_path))  # fmt: skip
    assert ca.returncode == 0, ca.stderr
    made = run_cli("keys", "generate", "issued", "--provider", "awskms", "--key-uri", "awskms:///alias/gen-issued",
                   "--subject", SUBJECT, "--issuer", str(tmp_path / "ca.pem"), "--out", str(tmp_path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    _, cert_path = made.stdout.split()
    leaf, root = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
    assert leaf.issuer == root.subject != leaf.subject
    kms_public = boto3.client("kms").get_public_key(KeyId="alias/gen-issued")["PublicKey"]
    assert (
        leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        == kms_public
    )
    checked = subprocess.run(["openssl", "verify", "-CAfile", str(tmp_path / "ca.crt"),
                              cert_path], capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--provider", "awskms"), "needs --key-uri"),
        (("--provider", "awskms", "--key-uri", "awskms:///1234abcd-12ab-34cd-56ef-1234567890ab"), "names no alias"),
        (("--provider", "awskms", "--key-uri", "gcpkms://x/y"), "not an AWS KMS key URI"),
        (("--provider", "awskms", "--key-uri", "awskms:///alias/bad-subject", "--subject", "nonsense"), "subject"),
    ],
)
def test_bad_kms_requests_are_input_errors_and_make_no_key(
    aws_env: str,  # noqa: F811
    run_cli,
    tmp_path: Path,
    args: tuple[str, ...],
    message: str,
) -> None:
    kms = boto3.client("kms")
    keys_before = len(kms.list_keys()["Keys"])
    made = run_cli("keys", "generate", "k", "--subject", SUBJECT, "--out", str(tmp_path), *args)
    assert made.returncode == ExitCode.INPUT, made.stderr
    assert message in made.stderr
    assert "Traceback" not in made.stderr
    assert len(kms.list_keys()["Keys"]) == keys_before


def test_chain_of_another_key_is_refused(aws_env: str, run_cli, tmp_path: Path) -> None:  # noqa: F811
    other = run_cli("keys", "generate", "other", "--subject", SUBJECT, "--out", str(tmp_path))
    assert other.returncode == 0, other.stderr
    made = run_cli("keys", "generate", "k", "--provider", "awskms", "--key-uri", "awskms:///alias/gen-mismatch",
                   "--subject", SUBJECT, "--out", str(tmp_path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    signed = run_cli("sign", "127.0.0.1:1/x:v1", "--key", f"awskms:///alias/gen-mismatch?cert={tmp_path / 'other.crt'}")
    assert signed.returncode != 0
    assert "does not certify the KMS key" in signed.stderr
    assert "Traceback" not in signed.stderr
