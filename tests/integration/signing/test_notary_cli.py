"""End to end through the CLI against the real Debian docker-registry (distribution 2.8, no referrers
API: signatures land in the ``sha256-<hex>`` tag-schema index)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from notary_fixtures import plain_client, push_tiny_image, verify_under_policy, write_trust_policy

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
    host = image.split("/", 1)[0]
    return run_cli("sign", image, "--key", f"file:{keys / 'signer.pem'}", "--format", fmt, "--insecure", host, *extra,
                   env={"WHARFINGER_KEY_PASSPHRASE": "correct horse"})  # fmt: skip


def test_sign_and_verify_both_formats(registry_plain, run_cli, keys, tmp_path) -> None:
    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/app", "v1")
    image = f"{registry_plain.host}/team/app:v1"
    jws = _sign(run_cli, keys, image, "notation-jws", "-m", "buildId=42")
    assert jws.returncode == 0, jws.stderr
    cose = _sign(run_cli, keys, image, "notation-cose", "-o", "json")
    assert cose.returncode == 0, cose.stderr
    cose_report = json.loads(cose.stdout)
    assert cose_report["subject"] == f"{image}@{digest}"  # the tag was resolved: the digest is what got signed
    policy = write_trust_policy(tmp_path / "trustpolicy.json", f"{registry_plain.host}/team/app")
    verified = verify_under_policy(run_cli, image, policy, keys / "truststore", "-o", "json")
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
    # --user-metadata: only the JWS signature carries buildId=42, so only it verifies under that demand
    demanded = verify_under_policy(run_cli, image, policy, keys / "truststore", "-o", "json", "-m", "buildId=42")
    assert demanded.returncode == 0, demanded.stdout + demanded.stderr
    outcome = {s["digest"]: s for s in json.loads(demanded.stdout)["signatures"]}
    assert outcome[jws.stdout.strip()]["verified"] is True
    assert outcome[cose_report["signature"]]["reason"] == "metadata-mismatch"


def test_wrong_identity_and_table_output(registry_plain, run_cli, keys, tmp_path) -> None:
    push_tiny_image(plain_client(registry_plain), "team/other", "v1", content=b"other")
    image = f"{registry_plain.host}/team/other:v1"
    assert _sign(run_cli, keys, image, "notation-jws").returncode == 0
    policy = write_trust_policy(
        tmp_path / "tp.json", f"{registry_plain.host}/team/other", identity="x509.subject: C=US, ST=WA, O=Evil"
    )
    result = verify_under_policy(run_cli, image, policy, keys / "truststore")
    assert result.returncode == 1
    assert "NOT VERIFIED" in result.stdout
    assert "FAILED (wrong-identity)" in result.stdout


def test_unsigned_image_has_no_signature(registry_plain, run_cli, keys, tmp_path) -> None:
    push_tiny_image(plain_client(registry_plain), "team/unsigned", "v1", content=b"unsigned")
    policy = write_trust_policy(tmp_path / "tp.json", "*")
    result = verify_under_policy(
        run_cli, f"{registry_plain.host}/team/unsigned:v1", policy, keys / "truststore", "-o", "json"
    )
    assert result.returncode == 1
    assert "no signature is associated" in json.loads(result.stdout)["message"]


def test_bad_inputs_exit_with_hints(registry_plain, run_cli, keys, tmp_path) -> None:
    image = f"{registry_plain.host}/team/app:v1"
    no_pass = run_cli(
        "sign",
        image,
        "--key",
        str(keys / "signer.pem"),
        "--insecure",
        registry_plain.host,
        env={"WHARFINGER_KEY_PASSPHRASE": ""},
    )
    assert no_pass.returncode == 4
    assert "encrypted" in no_pass.stderr
    assert "hint:" in no_pass.stderr
    for bad, words in (("novalue", "is not KEY=VALUE"), ("io.cncf.notary.x=1", "reserved io.cncf.notary prefix")):
        refused = _sign(run_cli, keys, image, "notation-jws", "-m", bad)
        assert refused.returncode == 3
        assert words in refused.stderr
    bad_format = _sign(run_cli, keys, image, "gpg")
    assert bad_format.returncode == 3
    assert "unknown signature format 'gpg'" in bad_format.stderr
    (tmp_path / "tp.json").write_text(
        '{"version": "1.0", "trustPolicies": [{"name": "a", "registryScopes": ["*", "x.io/y"]}]}'
    )
    bad_policy = verify_under_policy(run_cli, image, tmp_path / "tp.json", keys / "truststore")
    assert bad_policy.returncode == 3
    assert "wildcard scope cannot be used in conjunction" in bad_policy.stderr
    missing = run_cli("verify", image, "--insecure", registry_plain.host)
    assert missing.returncode == 3
    assert "--trust-policy" in missing.stderr
    assert "Traceback" not in missing.stderr + bad_policy.stderr + no_pass.stderr


def test_thousands_of_referrers_cost_bounded_time(registry_plain, run_cli, keys, tmp_path) -> None:
    """A hostile tag-schema index with 3000 junk signature entries: verification stops at the limit."""
    import time

    from wharfinger.oci.manifest import Descriptor
    from wharfinger.oci.referrers import attach_artifact

    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/flood", "v1", content=b"flood")
    subject = client.get_manifest("team/flood", digest).descriptor()
    junk = attach_artifact(client, "team/flood", subject, "application/vnd.cncf.notary.signature",
                           [("application/jose+json", b"not a signature")])  # fmt: skip
    entry = Descriptor(media_type=junk.media_type, digest=junk.digest, size=junk.size, artifact_type=junk.artifact_type)
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [entry.to_json()] * 3000}  # fmt: skip
    client.push_manifest("team/flood", json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json",
                         tag="sha256-" + digest.removeprefix("sha256:"))  # fmt: skip
    policy = write_trust_policy(tmp_path / "tp.json", "*")
    started = time.monotonic()
    result = verify_under_policy(
        run_cli, f"{registry_plain.host}/team/flood:v1", policy, keys / "truststore", "-o", "json"
    )
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert len(report["signatures"]) == 100
    assert report["truncated"] is True
    assert "stopped after the limit of 100 signatures" in report["message"]
    assert all(s["reason"] == "malformed-envelope" for s in report["signatures"])


def test_timestamped_signature_through_the_cli(registry_plain, run_cli, keys, tmp_path) -> None:
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives import serialization
    from tsa_server import running_tsa

    push_tiny_image(plain_client(registry_plain), "team/stamped", "v1", content=b"stamped")
    image = f"{registry_plain.host}/team/stamped:v1"
    with running_tsa(tmp_path, now=datetime.now(UTC)) as tsa:
        stranger = tmp_path / "stranger.pem"
        stranger.write_bytes((keys / "ca.crt").read_bytes())  # a CA that did not issue the TSA certificate
        refused = _sign(
            run_cli, keys, image, "notation-cose", "--timestamp-url", tsa.url, "--timestamp-root-cert", str(stranger)
        )
        assert refused.returncode == 4
        assert "does not verify" in refused.stderr
        signed = _sign(run_cli, keys, image, "notation-cose", "--timestamp-url", tsa.url, "--expiry", "30d",
                       "--timestamp-root-cert", str(tsa.root_pem))  # fmt: skip
        assert signed.returncode == 0, signed.stderr
        store = tmp_path / "truststore"
        (store / "x509/ca/acme").mkdir(parents=True)
        for pem in (keys / "truststore/x509/ca/acme").iterdir():
            (store / "x509/ca/acme" / pem.name).write_bytes(pem.read_bytes())
        (store / "x509/tsa/tsa").mkdir(parents=True)
        (store / "x509/tsa/tsa/root.pem").write_bytes(tsa.root.public_bytes(serialization.Encoding.PEM))
    policy = write_trust_policy(
        tmp_path / "tp.json", f"{registry_plain.host}/team/stamped", stores=("ca:acme", "tsa:tsa")
    )
    result = verify_under_policy(run_cli, image, policy, store, "-o", "json")
    assert result.returncode == 0, result.stdout + result.stderr
    (signature,) = json.loads(result.stdout)["signatures"]
    assert signature["timestamp"] is not None
    assert {c["check"]: c["outcome"] for c in signature["checks"]}["authenticTimestamp"] == "passed"


def test_signature_manifest_matches_the_spec_example(registry_plain, run_cli, keys, shared_dir) -> None:
    push_tiny_image(plain_client(registry_plain), "team/spec", "v1", content=b"spec")
    signed = _sign(run_cli, keys, f"{registry_plain.host}/team/spec:v1", "notation-cose")
    assert signed.returncode == 0, signed.stderr
    ours = json.loads(plain_client(registry_plain).get_manifest("team/spec", signed.stdout.strip()).data)
    text = (shared_dir / "vectors/notation/specifications/examples/signature-envelope-cose.01.json").read_text()
    spec = json.loads(text)
    assert set(ours) == set(spec)
    assert ours["artifactType"] == spec["artifactType"]
    assert {k: v for k, v in ours["config"].items() if k != "data"} == {
        k: v for k, v in spec["config"].items() if k != "data"
    }
    assert [layer["mediaType"] for layer in ours["layers"]] == [layer["mediaType"] for layer in spec["layers"]]
    assert set(ours["annotations"]) == set(spec["annotations"])
    assert set(ours["subject"]) == set(spec["subject"])


def test_keys_generate_bad_input(run_cli, tmp_path) -> None:
    bad_type = run_cli(
        "keys", "generate", "k", "--subject", "CN=x,O=y,ST=z,C=US", "--key-type", "dsa-1024", "--out", str(tmp_path)
    )
    assert bad_type.returncode == 3
    assert "unknown key type 'dsa-1024'" in bad_type.stderr
    bad_subject = run_cli("keys", "generate", "k", "--subject", "CN=a=b", "--out", str(tmp_path))
    assert bad_subject.returncode == 3
    assert "not a distinguished name" in bad_subject.stderr
    missing_issuer = run_cli(
        "keys", "generate", "k", "--subject", "CN=x,O=y,ST=z,C=US", "--issuer", str(tmp_path / "nope.pem")
    )
    assert missing_issuer.returncode == 3
    assert "does not exist" in missing_issuer.stderr


def test_policy_scope_uses_the_reference_registry_name(registry_plain, run_cli, keys, tmp_path) -> None:
    """Scopes name the registry as references do (docker.io/…), even where the API host differs."""
    from datetime import UTC, datetime

    from wharfinger.signing.notary.registry import verify_image
    from wharfinger.signing.notary.trustpolicy import parse_trust_policy
    from wharfinger.signing.notary.truststore import load_trust_store
    from wharfinger.signing.notary.verifier import TrustMaterial

    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/alias", "v1", content=b"alias")
    assert _sign(run_cli, keys, f"{registry_plain.host}/team/alias:v1", "notation-jws").returncode == 0
    policy = write_trust_policy(tmp_path / "tp.json", "docker.io/team/alias")
    trust = TrustMaterial(policy=parse_trust_policy(policy.read_bytes()), store=load_trust_store(keys / "truststore"))
    subject = client.get_manifest("team/alias", digest).descriptor()
    now = datetime.now(UTC)
    by_alias = verify_image(client, "team/alias", subject, trust, now, registry="docker.io")
    assert by_alias.verified, by_alias.message
    by_host = verify_image(client, "team/alias", subject, trust, now)
    assert not by_host.verified
    assert "no trust policy statement applies" in by_host.message
