"""Attestations end to end against the real Debian docker-registry: envelopes appended to the
image's ``.att`` manifest (``registry.append_attestation``), then ``wharfinger verify-attestation``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from notary_fixtures import plain_client, push_tiny_image, write_key_pair

from wharfinger.signing.cosign.attestation import (
    SLSA_PROVENANCE_V1,
    VULN_PREDICATE_V1,
    build_dsse_attestation,
)
from wharfinger.signing.cosign.registry import append_attestation, fetch_attestations
from wharfinger.signing.keys.providers import open_signer
from wharfinger.signing.keys.signer import SignatureAlgorithm

pytestmark = pytest.mark.slow

SCAN = {"scanner": {"uri": "pkg:github/wharfinger", "result": {"critical": 0}}, "metadata": {"scanFinishedOn": "x"}}
PROVENANCE = {"buildDefinition": {"buildType": "https://example.com/build@v1"}, "runDetails": {}}


def _attach(
    client, repository: str, digest: str, key: Path, predicate_type: str, predicate: dict, about: str = ""
) -> None:  # type: ignore[no-untyped-def,type-arg]
    signer = open_signer(f"file:{key}", {}, algorithm=SignatureAlgorithm.ECDSA_SHA256)
    envelope, layer = build_dsse_attestation(
        f"{client.host}/{repository}", about or digest, predicate_type, predicate, signer
    )
    append_attestation(client, repository, digest, envelope, layer)


def test_two_attesters_each_verified_by_type_and_key(registry_plain, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/attested", "v1")
    image = f"{registry_plain.host}/team/attested:v1"
    scanner, scanner_pub = write_key_pair(tmp_path, "scanner")
    builder, builder_pub = write_key_pair(tmp_path, "builder")
    _attach(client, "team/attested", digest, scanner, VULN_PREDICATE_V1, SCAN)
    _attach(client, "team/attested", digest, builder, SLSA_PROVENANCE_V1, PROVENANCE)
    assert len(fetch_attestations(client, "team/attested", digest).envelopes) == 2  # appended, not replaced

    vuln = run_cli(
        "verify-attestation", image, "--key", str(scanner_pub), "--type", "vuln", "--insecure", registry_plain.host
    )
    assert vuln.returncode == 0, vuln.stderr
    assert json.loads(vuln.stdout) == SCAN
    assert "1 https://cosign.sigstore.dev/attestation/vuln/v1 attestation(s) verified" in vuln.stderr

    provenance = run_cli(
        "verify-attestation",
        image,
        "--key",
        str(builder_pub),
        "--type",
        "slsaprovenance",
        "--insecure",
        registry_plain.host,
        "-o",
        "json",
    )
    assert provenance.returncode == 0, provenance.stderr
    report = json.loads(provenance.stdout)
    verified = [a for a in report["attestations"] if a["verified"]]
    assert [a["predicateType"] for a in verified] == [SLSA_PROVENANCE_V1]
    assert verified[0]["predicate"] == PROVENANCE
    assert verified[0]["signer"] == "builder"

    # The scanner's key did not sign the provenance: nothing of that type verifies with it.
    wrong_key = run_cli(
        "verify-attestation",
        image,
        "--key",
        str(scanner_pub),
        "--type",
        "slsaprovenance",
        "--insecure",
        registry_plain.host,
    )
    assert wrong_key.returncode == 1
    assert (
        "no https://slsa.dev/provenance/v1 or https://slsa.dev/provenance/v0.2 attestation verifies" in wrong_key.stderr
    )
    assert wrong_key.stdout == ""  # no predicate printed


def test_statement_about_another_image_is_refused(registry_plain, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/moved", "v1")
    other = push_tiny_image(client, "team/moved", "v2", content=b"other")
    key, public = write_key_pair(tmp_path, "scanner")
    _attach(client, "team/moved", digest, key, VULN_PREDICATE_V1, SCAN, about=other)  # copied from v2's .att
    done = run_cli(
        "verify-attestation", f"{registry_plain.host}/team/moved:v1", "--key", str(public), "--type", "vuln",
        "--insecure", registry_plain.host, "-o", "json",
    )  # fmt: skip
    assert done.returncode == 1
    assert f"the attestation is about {other}, not {digest}" in json.loads(done.stdout)["message"]


def test_no_attestation_and_bad_type(registry_plain, run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client = plain_client(registry_plain)
    push_tiny_image(client, "team/bare", "v1")
    image = f"{registry_plain.host}/team/bare:v1"
    _, public = write_key_pair(tmp_path, "scanner")
    none = run_cli(
        "verify-attestation", image, "--key", str(public), "--type", "vuln", "--insecure", registry_plain.host
    )
    assert none.returncode == 1
    assert "no attestations found" in none.stderr
    bad = run_cli(
        "verify-attestation", image, "--key", str(public), "--type", "sbom-ish", "--insecure", registry_plain.host
    )
    assert bad.returncode == 3
    assert "neither a known short name nor a predicate type URI" in bad.stderr


@pytest.mark.parametrize("kind", ["rsa-2048", "p-384"])
def test_attest_cli_signs_as_cosign_verifies(registry_plain, run_cli, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    """`wharfinger attest` signs with cosign's algorithm for the key (RSA PKCS#1 v1.5, SHA-256 on
    every curve), not the Notary Project's (RSA-PSS, SHA-384 on P-384), so the attestation verifies."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    client = plain_client(registry_plain)
    push_tiny_image(client, "team/attest-cli", kind)
    image = f"{registry_plain.host}/team/attest-cli:{kind}"
    key = rsa.generate_private_key(65537, 2048) if kind.startswith("rsa") else ec.generate_private_key(ec.SECP384R1())
    private, public = write_key_pair(tmp_path, "attester", key)
    predicate = tmp_path / "scan.json"
    predicate.write_text(json.dumps(SCAN))
    attached = run_cli(
        "attest", image, "--key", f"file:{private}", "--type", "vuln", "--predicate", str(predicate),
        "--insecure", registry_plain.host,
    )  # fmt: skip
    assert attached.returncode == 0, attached.stderr
    verified = run_cli(
        "verify-attestation", image, "--key", str(public), "--type", "vuln", "--insecure", registry_plain.host
    )
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout) == SCAN
