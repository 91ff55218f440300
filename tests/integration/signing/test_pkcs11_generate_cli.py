"""``wharfinger keys generate --provider pkcs11`` against a real SoftHSM2 token, then signing and verifying
with the generated key through the CLI against the real docker-registry."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from notary_fixtures import push_sign_and_verify

from testkit.softhsm import MODULE, new_token
from wharfinger.cli.exitcodes import ExitCode

pytestmark = pytest.mark.slow

PIN = "97531"
SUBJECT = "CN=ci,O=Acme,ST=WA,C=US"


@pytest.fixture(scope="module")
def hsm(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An empty SoftHSM2 token: every key in it is made by ``wharfinger keys generate``."""
    env = new_token(tmp_path_factory.mktemp("softhsm-generate"), label="gen", pin=PIN, so_pin="24680")
    return {"SOFTHSM2_CONF": env["SOFTHSM2_CONF"], "WHARFINGER_PKCS11_PIN": PIN, "WHARFINGER_PKCS11_MODULE": MODULE}


def _token_public_key(hsm: dict[str, str], label: str, out: Path) -> bytes:
    """The public key as OpenSC's pkcs11-tool reads it out of the token (a second, independent reader)."""
    subprocess.run(
        ["pkcs11-tool", "--module", MODULE, "--read-object", "--type", "pubkey", "--label", label, "-o", str(out)],
        env={"SOFTHSM2_CONF": hsm["SOFTHSM2_CONF"], "PATH": "/usr/bin:/bin"}, check=True, capture_output=True,
    )  # fmt: skip
    return serialization.load_der_public_key(out.read_bytes()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.mark.parametrize(("label", "key_type"), [("release-ec", "ec-p256"), ("release-rsa", "rsa-3072")])
def test_generated_token_key_signs_and_verifies(
    hsm: dict[str, str], registry_plain, run_cli, tmp_path: Path, label: str, key_type: str
) -> None:
    store = tmp_path / "truststore"
    made = run_cli("keys", "generate", label, "--provider", "pkcs11", "--key-uri", f"pkcs11:token=gen;object={label}",
                   "--key-type", key_type, "--subject", SUBJECT, "--out", str(tmp_path), "--trust-store", str(store),
                   "--store-name", "acme", env=hsm)  # fmt: skip
    assert made.returncode == 0, made.stderr
    key_uri, cert_path = made.stdout.split()
    assert key_uri.startswith(f"pkcs11:token=gen;object={label};id=%")
    assert PIN not in made.stdout
    certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    # the certificate certifies the key inside the token, and the token's key signed it (openssl checks)
    assert certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == _token_public_key(hsm, label, tmp_path / "pub.der")
    checked = subprocess.run(["openssl", "verify", "-CAfile", cert_path, "-check_ss_sig", cert_path],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr

    digest, report = push_sign_and_verify(
        run_cli, registry_plain, f"hsm/{label}", key_uri=key_uri, trust_store=store, work=tmp_path, env=hsm
    )
    assert report["digest"] == digest
    assert report["verified"] is True
    assert [s["signer"] for s in report["signatures"]] == ["CN=ci,O=Acme,ST=WA,C=US"]

    # the same label again would make every later --key ambiguous: refused, the first key still works
    again = run_cli("keys", "generate", label, "--provider", "pkcs11", "--key-uri", f"pkcs11:token=gen;object={label}",
                    "--subject", SUBJECT, "--out", str(tmp_path / "again"), env=hsm)  # fmt: skip
    assert again.returncode == ExitCode.INPUT, again.stderr
    assert "already holds" in again.stderr
    assert "Traceback" not in again.stderr


def test_wrong_pin_makes_no_key(hsm: dict[str, str], run_cli, tmp_path: Path) -> None:
    wrong_pin = {**hsm, "WHARFINGER_PKCS11_PIN": "000000"}
    made = run_cli("keys", "generate", "k", "--provider", "pkcs11", "--key-uri", "pkcs11:token=gen;object=nopin",
                   "--subject", SUBJECT, "--out", str(tmp_path), env=wrong_pin)  # fmt: skip
    assert made.returncode != 0
    assert "000000" not in made.stderr
    assert "PIN" in made.stderr
    assert "Traceback" not in made.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--provider", "pkcs11"), "needs --key-uri"),
        (("--provider", "pkcs11", "--key-uri", "pkcs11:token=gen"), "no object label"),
        (("--provider", "pkcs11", "--key-uri", "pkcs11:token=gen;object=x", "--days", "0"), "at least one day"),
        (("--provider", "pkcs11", "--key-uri", "pkcs11:token=gen;object=x", "--key-type", "ed"), "unknown key type"),
    ],
)
def test_unsupported_requests_are_input_errors(
    hsm: dict[str, str], run_cli, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    made = run_cli("keys", "generate", "k", "--subject", SUBJECT, "--out", str(tmp_path), *args, env=hsm)
    assert made.returncode == ExitCode.INPUT, made.stderr
    assert message in made.stderr
    assert "Traceback" not in made.stderr


def test_token_key_issued_by_a_file_ca(hsm: dict[str, str], registry_plain, run_cli, tmp_path: Path) -> None:
    store = tmp_path / "truststore"
    ca = run_cli("keys", "generate", "ca", "--subject", "CN=Acme CA,O=Acme,ST=WA,C=US", "--ca", "--out",
                 str(tmp_path), "--trust-store", str(store), "--store-name", "acme")  # fmt: skip
    assert ca.returncode == 0, ca.stderr
    made = run_cli("keys", "generate", "issued", "--provider", "pkcs11", "--key-uri",
                   "pkcs11:token=gen;object=issued", "--subject", SUBJECT, "--issuer", str(tmp_path / "ca.pem"),
                   "--out", str(tmp_path), env=hsm)  # fmt: skip
    assert made.returncode == 0, made.stderr
    key_uri, cert_path = made.stdout.split()
    leaf, root = x509.load_pem_x509_certificates(Path(cert_path).read_bytes())
    assert leaf.issuer == root.subject != leaf.subject
    leaf.verify_directly_issued_by(root)

    _, report = push_sign_and_verify(
        run_cli, registry_plain, "hsm/issued", key_uri=key_uri, trust_store=store, work=tmp_path,
        signature_format="notation-cose", env=hsm,
    )  # fmt: skip
    assert report["verified"] is True
