"""cosign signatures end to end through the CLI against the real Debian docker-registry:
`wharfinger keys generate` → `wharfinger sign --format cosign` → `wharfinger verify --key`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from notary_fixtures import plain_client, push_tiny_image, write_key_pair

from wharfinger.signing.cosign.registry import fetch_signatures

pytestmark = pytest.mark.slow


def _key_pair(base: Path, name: str, curve: ec.EllipticCurve) -> tuple[Path, Path]:
    return write_key_pair(base, name, ec.generate_private_key(curve))


def test_sign_verify_two_signers_and_a_stranger(registry_plain, run_cli, tmp_path: Path) -> None:
    client = plain_client(registry_plain)
    digest = push_tiny_image(client, "team/cosigned", "v1")
    image = f"{registry_plain.host}/team/cosigned:v1"
    alice, alice_pub = _key_pair(tmp_path, "alice", ec.SECP256R1())
    bob, bob_pub = _key_pair(tmp_path, "bob", ec.SECP384R1())  # cosign signs P-384 with SHA-256 too
    _, stranger_pub = _key_pair(tmp_path, "stranger", ec.SECP256R1())

    for key in (alice, bob):
        signed = run_cli(
            "sign", image, "--key", str(key), "--format", "cosign", "--insecure", registry_plain.host, "-o", "json"
        )
        assert signed.returncode == 0, signed.stderr
        assert json.loads(signed.stdout)["subject"] == f"{image}@{digest}"

    layers = fetch_signatures(client, "team/cosigned", digest).layers
    assert len(layers) == 2  # the second signer appended; the first signature was kept

    both = run_cli(
        "verify",
        image,
        "--key",
        str(alice_pub),
        "--key",
        str(bob_pub),
        "--threshold",
        "2",
        "--insecure",
        registry_plain.host,
        "-o",
        "json",
    )
    assert both.returncode == 0, both.stdout + both.stderr
    report = json.loads(both.stdout)
    assert report["verified"] is True
    assert report["message"] == "signed by alice, bob"

    stranger = run_cli("verify", image, "--key", str(stranger_pub), "--insecure", registry_plain.host)
    assert stranger.returncode == 1
    assert "NOT VERIFIED" in stranger.stdout
    assert "threshold not reached" in stranger.stderr


def test_retagged_image_has_no_signature(registry_plain, run_cli, tmp_path: Path) -> None:
    client = plain_client(registry_plain)
    push_tiny_image(client, "team/retag", "v1")
    image = f"{registry_plain.host}/team/retag:v1"
    key, public = _key_pair(tmp_path, "ci", ec.SECP256R1())
    assert (
        run_cli("sign", image, "--key", str(key), "--format", "cosign", "--insecure", registry_plain.host).returncode
        == 0
    )
    push_tiny_image(client, "team/retag", "v1", content=b"tampered")  # the tag now names other content
    done = run_cli("verify", image, "--key", str(public), "--insecure", registry_plain.host, "-o", "json")
    assert done.returncode == 1
    assert "no cosign signatures found" in json.loads(done.stdout)["message"]


def test_private_key_given_as_public_key_is_a_clear_input_error(registry_plain, run_cli, tmp_path: Path) -> None:
    client = plain_client(registry_plain)
    push_tiny_image(client, "team/badkey", "v1")
    key, _ = _key_pair(tmp_path, "ci", ec.SECP256R1())
    done = run_cli(
        "verify", f"{registry_plain.host}/team/badkey:v1", "--key", str(key), "--insecure", registry_plain.host
    )
    assert done.returncode == 3
    assert "not a PEM public key" in done.stderr
    assert "Traceback" not in done.stderr
