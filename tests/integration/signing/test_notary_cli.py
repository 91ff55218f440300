"""End to end through the CLI against the real Debian docker-registry (distribution 2.8, no referrers
API: signatures land in the ``sha256-<hex>`` tag-schema index)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notary_fixtures import plain_client, push_tiny_image, write_trust_policy

pytestmark = pytest.mark.slow

SUBJECT = "CN=ci,OU=Build,O=Acme,L=Seattle,ST=WA,C=US"


@pytest.fixture(scope="module")
def keys(tmp_path_factory, run_cli) -> Path:
    """A CA (its root in the trust store ca:acme) and an encrypted signing key it issued, made by the CLI."""
    base = tmp_path_factory.mktemp("notary-keys")
    env = {"WHARFINGER_KEY_PASSPHRASE": "correct horse"}
    store = str(base / "truststore")
    made = run_cli("keys", "generate", "ca", "--subject", "CN=Acme CA,O=Acme,ST=WA,C=US", "--ca", "--out", str(base),
                   "--trust-store", store, "--store-name", "acme", "--key-type", "ec-p384", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    made = run_cli(
        "keys",
        "generate",
        "signer",
        "--subject",
        SUBJECT,
        "--issuer",
        str(base / "ca.pem"),
        "--out",
        str(base),
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert b"ENCRYPTED PRIVATE KEY" in (base / "signer.pem").read_bytes()
    return base


def _sign(run_cli, keys: Path, image: str, fmt: str, *extra: str):
    return run_cli("sign", image, "--key", f"file:{keys / 'signer.pem'}", "--format", fmt, "--insecure", *extra,
                   env={"WHARFINGER_KEY_PASSPHRASE": "correct horse"})  # fmt: skip


def test_sign_and_verify_both_formats(registry_plain, run_cli, keys, tmp_path) -> None:
    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/app", "v1")
    image = f"{registry_plain.host}/team/app:v1"
    jws = _sign(run_cli, keys, image, "notation-jws")
    assert jws.returncode == 0, jws.stderr
    cose = _sign(run_cli, keys, image, "notation-cose", "-o", "json")
    assert cose.returncode == 0, cose.stderr
    cose_report = json.loads(cose.stdout)
    assert cose_report["subject"] == f"{image}@{digest}"  # the tag was resolved: the digest is what got signed
    policy = write_trust_policy(tmp_path / "trustpolicy.json", f"{registry_plain.host}/team/app")
    verified = run_cli("verify", image, "--trust-policy", str(policy), "--trust-store", str(keys / "truststore"),
                       "--insecure", "-o", "json")  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["digest"] == digest
    assert report["verified"] is True
    assert report["referrers"] == "tag-schema"
    by_digest = {s["digest"]: s for s in report["signatures"]}
    assert set(by_digest) == {jws.stdout.strip(), cose_report["signature"]}
    assert {s["mediaType"] for s in by_digest.values()} == {"application/jose+json", "application/cose"}
    assert all(
        s["verified"] and s["signer"] == "CN=ci,OU=Build,O=Acme,L=Seattle,ST=WA,C=US" for s in by_digest.values()
    )
    # the signature manifest follows the spec: artifactType, one layer, subject, thumbprint annotation
    manifest = json.loads(plain_client(registry_plain).get_manifest("team/app", jws.stdout.strip()).data)
    assert manifest["artifactType"] == "application/vnd.cncf.notary.signature"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert manifest["subject"]["digest"] == digest
    assert [layer["mediaType"] for layer in manifest["layers"]] == ["application/jose+json"]
    thumbprints = json.loads(manifest["annotations"]["io.cncf.notary.x509chain.thumbprint#S256"])
    assert len(thumbprints) == 2


def test_wrong_identity_and_table_output(registry_plain, run_cli, keys, tmp_path) -> None:
    push_tiny_image(plain_client(registry_plain), "team/other", "v1", content=b"other")
    image = f"{registry_plain.host}/team/other:v1"
    assert _sign(run_cli, keys, image, "notation-jws").returncode == 0
    policy = write_trust_policy(
        tmp_path / "tp.json", f"{registry_plain.host}/team/other", identity="x509.subject: C=US, ST=WA, O=Evil"
    )
    result = run_cli(
        "verify", image, "--trust-policy", str(policy), "--trust-store", str(keys / "truststore"), "--insecure"
    )
    assert result.returncode == 1
    assert "NOT VERIFIED" in result.stdout
    assert "FAILED (wrong-identity)" in result.stdout


def test_unsigned_image_has_no_signature(registry_plain, run_cli, keys, tmp_path) -> None:
    push_tiny_image(plain_client(registry_plain), "team/unsigned", "v1", content=b"unsigned")
    policy = write_trust_policy(tmp_path / "tp.json", "*")
    result = run_cli("verify", f"{registry_plain.host}/team/unsigned:v1", "--trust-policy", str(policy),
                     "--trust-store", str(keys / "truststore"), "--insecure", "-o", "json")  # fmt: skip
    assert result.returncode == 1
    assert "no signature is associated" in json.loads(result.stdout)["message"]


def test_bad_inputs_exit_with_hints(registry_plain, run_cli, keys, tmp_path) -> None:
    image = f"{registry_plain.host}/team/app:v1"
    no_pass = run_cli(
        "sign", image, "--key", str(keys / "signer.pem"), "--insecure", env={"WHARFINGER_KEY_PASSPHRASE": ""}
    )
    assert no_pass.returncode == 4
    assert "encrypted" in no_pass.stderr
    assert "hint:" in no_pass.stderr
    bad_format = _sign(run_cli, keys, image, "gpg")
    assert bad_format.returncode == 3
    assert "unknown signature format 'gpg'" in bad_format.stderr
    (tmp_path / "tp.json").write_text(
        '{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["*", "x.io/y"]}]}'
    )
    store = str(keys / "truststore")
    bad_policy = run_cli(
        "verify", image, "--trust-policy", str(tmp_path / "tp.json"), "--trust-store", store, "--insecure"
    )
    assert bad_policy.returncode == 3
    assert "wildcard scope cannot be used in conjunction" in bad_policy.stderr
    missing = run_cli("verify", image, "--insecure")
    assert missing.returncode == 3
    assert "--trust-policy" in missing.stderr
    assert "Traceback" not in missing.stderr + bad_policy.stderr + no_pass.stderr
